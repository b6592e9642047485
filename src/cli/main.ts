/**
 * The `segmenta` command. Each subcommand parses options, calls services, prints text (or JSON with
 * --json), and exits with a documented code (see EXIT in context.ts).
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../http/server.js';
import { CliError, EXIT, chooseWorkspace, dataDir, exitCodeOf, openSegmenta, portOf, printJson, waitForSignal, withSegmenta, type GlobalOptions } from './context.js';
import { registerDemo } from './demo-command.js';
import { registerImport } from './import-command.js';
import { registerKeys } from './keys-command.js';
import { registerModels } from './models-command.js';
import { registerMl } from './ml-command.js';
import { registerSegments } from './segments-command.js';
import { printProfile } from './profile-format.js';

function version(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const pkg: unknown = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('segmenta')
    .description('Open-source customer segmentation: Segment-compatible ingestion, identity resolution, profiles, segments, models.')
    .version(version())
    .addOption(new Option('--data <dir>', 'folder of the embedded database (default: $SEGMENTA_DATA or ./segmenta-data)'))
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('init')
    .description('create a workspace and print its write key (for SDKs) and admin token (for the API)')
    .option('--name <name>', 'workspace name', 'default')
    .action(async (opts: { name: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const created = await sg.workspaces.create(opts.name);
        if (g.json) printJson({ workspace: created.workspace, writeKey: created.writeKey, adminToken: created.adminToken });
        else {
          console.log(`Created workspace '${created.name}' (${created.workspace}) in ${dataDir(g)}`);
          console.log(`  write key   ${created.writeKey}   (Segment/RudderStack SDKs: writeKey, host http://localhost:8080)`);
          console.log(`  admin token ${created.adminToken}   (API: Authorization: Bearer …)`);
          console.log('The secrets are stored hashed: keep them now, they cannot be shown again.');
        }
      });
    });

  program
    .command('serve')
    .description('serve the HTTP API (tracking API on /v1/*, management API on /api/v1/*)')
    .option('--port <port>', 'port (default: $SEGMENTA_PORT or 8080)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .action(async (opts: { port?: string; host: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const port = portOf(opts.port);
      const sg = await openSegmenta(g, true);
      let server;
      try {
        server = await startServer(sg, port, opts.host);
        sg.startBackgroundWork();
      } catch (err) {
        await sg.close();
        throw err;
      }
      if (g.json) printJson({ url: server.publicUrl, data: dataDir(g) });
      else console.log(`segmenta serving ${server.publicUrl} (data: ${dataDir(g)}); Ctrl-C to stop`);
      await waitForSignal();
      await server.close();
      await sg.close();
    });

  const profile = program.command('profile').description('read profiles');
  profile
    .command('show <ref>')
    .description('show one profile: identities, traits with provenance, event counts, recent events, merges. <ref> is a profile id, a user id, an email, an anonymous id, or type:value')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .option('--recent <n>', 'how many recent events', '10')
    .action(async (ref: string, opts: { workspace?: string; recent: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const recent = Number(opts.recent);
      if (!Number.isInteger(recent) || recent < 1 || recent > 1000) throw new CliError('--recent must be a whole number from 1 to 1000', EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const view = await sg.profiles.get(await chooseWorkspace(sg, opts.workspace), ref, recent);
        if (g.json) printJson(view);
        else printProfile(view);
      });
    });

  program
    .command('workspaces')
    .description('list workspaces with their sizes')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const rows = [];
        for (const w of await sg.workspaces.list()) rows.push({ ...w, createdAt: new Date(w.createdAt).toISOString(), stats: await sg.store.workspaceStats(w.id) });
        if (g.json) printJson(rows);
        else for (const r of rows) console.log(`${r.id}  ${r.name.padEnd(16)} ${r.stats.events} events, ${r.stats.profiles} profiles, ${r.stats.merges} merges`);
      });
    });

  program
    .command('compact')
    .description('re-sort stored events by profile and time (faster per-profile scans); safe to run any time the server is stopped')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const t0 = Date.now();
        await sg.store.compact();
        if (g.json) printJson({ compacted: true, ms: Date.now() - t0 });
        else console.log(`compacted in ${Date.now() - t0} ms`);
      });
    });

  registerImport(program);
  registerKeys(program);
  registerSegments(program);
  registerModels(program);
  registerMl(program);
  registerDemo(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    const wantsJson = argv.includes('--json');
    const message = err instanceof Error ? err.message : String(err);
    if (wantsJson) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    process.stderr.write(`segmenta: ${message}\n`);
    if (!(err instanceof CliError) && exitCodeOf(err) === EXIT.failure && process.env['SEGMENTA_DEBUG'] && err instanceof Error) {
      process.stderr.write(`${err.stack ?? ''}\n`);
    }
    return exitCodeOf(err);
  }
}

// `node --import tsx src/cli/main.ts …` (tests, development); bin/segmenta.js calls main() itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  }, (err: unknown) => {
    process.stderr.write(`segmenta: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  });
}
