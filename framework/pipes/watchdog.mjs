// Stops a child process group when the Fairway process that started it is gone (kill -9 included).
// Usage: node watchdog.mjs <parent-pid> <child-pgid>. Plain JavaScript: it starts in ~40 ms without tsx.
// FAIRWAY_CHILD_STOP_GRACE_S: how long the group has between SIGTERM and SIGKILL (default 5 s; a Spark JVM
// flushing its shutdown hooks may want more; at most 50 s, below the 60 s after which a recorded group no longer
// holds its run's locks). Inherited from the Fairway process that started the child.
const [parent, group] = process.argv.slice(2).map(Number);
const graceS = Number(process.env.FAIRWAY_CHILD_STOP_GRACE_S ?? 5);
const graceMs = Number.isFinite(graceS) && graceS >= 0 && graceS <= 50 ? graceS * 1000 : 5000;
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
  }, graceMs);
}, 500);
