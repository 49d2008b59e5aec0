// Stops a child process group when the Fairway process that started it is gone (kill -9 included).
// Usage: node watchdog.mjs <parent-pid> <child-pgid>. Plain JavaScript: it starts in ~40 ms without tsx.
const [parent, group] = process.argv.slice(2).map(Number);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};
const signal = (sig) => {
  try {
    process.kill(-group, sig);
  } catch {
    // the group is gone
  }
};
const tick = setInterval(() => {
  if (!alive(-group)) process.exit(0); // the child finished: nothing to watch
  if (alive(parent)) return;
  clearInterval(tick);
  signal('SIGTERM');
  setTimeout(() => {
    signal('SIGKILL');
    process.exit(0);
  }, 5000);
}, 500);
