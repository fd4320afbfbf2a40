/** The scheduler: pure solvers and the live service around them. */

export { parseInstance } from './instance.js';
export * from './service/index.js';
export * from './solvers/index.js';
