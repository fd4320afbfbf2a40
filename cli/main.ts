#!/usr/bin/env node
import { Command } from 'commander';
import { registerAgentCommand } from './commands/agent.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerEdgeWorkerCommand } from './commands/edge-worker.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerSchedulerCommand } from './commands/scheduler.js';
import { registerSolveCommand } from './commands/solve.js';
import { registerUpCommand } from './commands/up.js';

const program = new Command()
  .name('edgesplit')
  .description('Split DNN inference between IoT devices and a shared edge')
  .version('0.1.0')
  // Usage errors exit 2, like an invalid instance; --help and --version exit 0.
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerSolveCommand(program);
registerFleetCommands(program);
registerSchedulerCommand(program);
registerEdgeWorkerCommand(program);
registerBrokerCommands(program);
registerAgentCommand(program);
registerUpCommand(program);

await program.parseAsync(process.argv);
