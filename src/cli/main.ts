// The `drivetrain` command. Each subcommand lives in its own file exporting `register(program)`.
import { Command } from 'commander';

const program = new Command();
program
  .name('drivetrain')
  .description('Resumable training with crash-safe checkpoints and background Drive backup')
  .showHelpAfterError('(run with --help for usage)');

const modules = await Promise.all([
  // one line per command file, e.g. import('./runs.js'),
  import('./backup.js'),
  import('./infer.js'),
  import('./doctor.js'),
  import('./notebook.js'),
  import('./runs.js'),
  import('./train.js'),
]);
for (const m of modules as { register(p: Command): void }[]) m.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`drivetrain: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
