/** `segmenta keys …`: list, create and revoke a workspace's write keys and API tokens. */
import type { Command } from 'commander';
import type { Role } from '../ports/storage.js';
import { CliError, EXIT, chooseWorkspace, printJson, withSegmenta, type GlobalOptions } from './context.js';

const ROLES: readonly Role[] = ['admin', 'editor', 'viewer'];

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('write keys (for SDKs) and API tokens (admin, editor, viewer) of a workspace');

  keys
    .command('list')
    .description('list credentials: id, kind, role, label, created, revoked (secrets are never shown again)')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .action(async (opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const list = await sg.workspaces.credentials(await chooseWorkspace(sg, opts.workspace));
        if (g.json) return printJson(list);
        for (const c of list) {
          console.log(`${c.id}  ${c.kind.padEnd(9)} ${(c.role ?? '').padEnd(6)} ${c.label.padEnd(24)} created ${c.createdAt}${c.revokedAt ? `  revoked ${c.revokedAt}` : ''}`);
        }
      });
    });

  keys
    .command('create-write-key')
    .description('create a write key for SDKs and print it (once)')
    .option('--label <text>', 'what it is for', 'write key')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .action(async (opts: { label: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const writeKey = await sg.workspaces.addWriteKey(await chooseWorkspace(sg, opts.workspace), opts.label);
        if (g.json) printJson({ writeKey });
        else console.log(writeKey);
      });
    });

  keys
    .command('create-token')
    .description('create an API token with a role and print it (once)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--label <text>', 'what it is for')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .action(async (opts: { role: string; label?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const role = ROLES.find((r) => r === opts.role);
      if (!role) throw new CliError(`--role must be one of ${ROLES.join(', ')}, got '${opts.role}'`, EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const token = await sg.workspaces.addToken(await chooseWorkspace(sg, opts.workspace), role, opts.label ?? `${role} token`);
        if (g.json) printJson({ token, role });
        else console.log(token);
      });
    });

  keys
    .command('revoke <id>')
    .description('revoke a write key or token by its id (from `keys list`)')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .action(async (id: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        await sg.workspaces.revoke(await chooseWorkspace(sg, opts.workspace), id);
        if (g.json) printJson({ revoked: id });
        else console.log(`revoked ${id}`);
      });
    });
}
