/**
 * The experiments' names and one-line titles, apart from their code so that the command line
 * can list them without loading the plotting libraries.
 */
export const EXPERIMENT_TITLES = {
  solvers: 'max and mean latency of every solver against N, R and bandwidth; IAO gap',
  robustness: 'decisions on profiles and links with 10, 30, 50% error, scored on the true fleet',
  scale: 'solve time and memory of optimal and iao up to N = 100,000; HiGHS within a time limit',
  live: 'one fleet in the live system with each solver in turn: measured max and mean latency',
} as const;

export type ExperimentName = keyof typeof EXPERIMENT_TITLES;

export const EXPERIMENT_NAMES = Object.keys(EXPERIMENT_TITLES) as ExperimentName[];
