import { Command } from 'commander';
import { PACKAGE_VERSION } from '../runtime/package-version.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerEdgeWorkerCommand } from './commands/edge-worker.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerIngressCommand } from './commands/ingress.js';
import { registerLabCommand } from './commands/lab.js';
import { registerModelCommands } from './commands/model.js';
import { registerProfileCommand } from './commands/profile.js';
import { registerSchedulerCommand } from './commands/scheduler.js';
import { registerSolveCommand } from './commands/solve.js';
import { registerUpCommand } from './commands/up.js';

/**
 * The `edgesplit` command line with every command registered, built without parsing anything,
 * so that tests can inspect its commands and options.
 */
export function buildProgram(): Command {
  const program = new Command()
    .name('edgesplit')
    .description('Split DNN inference between IoT devices and a shared edge')
    .version(PACKAGE_VERSION)
    // Usage errors exit 2, like an invalid instance; --help and --version exit 0. Set before
    // adding commands: commander copies the exit handler into them on creation.
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : 2);
    });

  registerSolveCommand(program);
  registerFleetCommands(program);
  registerSchedulerCommand(program);
  registerEdgeWorkerCommand(program);
  registerBrokerCommands(program);
  registerIngressCommand(program);
  registerAgentCommand(program);
  registerUpCommand(program);
  registerDashboardCommand(program);
  registerLabCommand(program);
  registerModelCommands(program);
  registerProfileCommand(program);
  registerExperimentCommand(program);
  return program;
}
