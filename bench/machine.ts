/** Machine information recorded with every benchmark result. */
export interface BenchMachine {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  git_commit: string;
  load_average_at_start: number[];
}
