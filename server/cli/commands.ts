import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Database } from '../db/database.ts';
import { createSourceRequest, createUserRequest, password as passwordSchema, email as emailSchema } from '../../src/lib/protocol/api.ts';
import { addUser, findUserByEmail, listUsers, resetPassword, updateUser } from '../auth/users.ts';
import { addSource, findSourceByName, listSources, rotateSourceToken, setSourceEnabled } from '../ingest/sources.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { resetDemoEstate } from '../demo/demo-estate.ts';
import { ChangeWriter } from '../engine/change-writer.ts';
import { Renames } from '../incidents/renames.ts';
import { createTeamRequest } from '../../src/lib/protocol/console.ts';
import { createTeam, listTeams } from '../teams/teams.ts';
import { BY_CLI, recordAudit } from '../audit/audit-log.ts';
import { parseImportArgs, prepareTopologyImport, type TopologyChanged, type TopologyImported } from '../topology/topology-cli.ts';
import { StoredSecretError } from '../auth/secret-box.ts';
import type { SecretsSetup } from '../auth/secret-key.ts';
import { rotateSecretKey } from '../auth/rotate-secret-key.ts';
import { resetLostSecrets } from '../auth/reset-lost-secrets.ts';
import { describeSecretsStatus, describeSecretsReset, describeKeyRotation, secretsStatus } from './secrets-report.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Thrown for wrong arguments: printed with the usage line and exit code 2. */
class UsageError extends Error {}

export const USAGE = `Usage: watchfloor <command> [options]   (every command accepts --json)

  user add --email E --name N --role admin|lead|engineer|viewer [--password-stdin]
                           without --password-stdin a one-time password is printed
  user reset-password --email E [--password-stdin]
  user disable --email E   signs them out everywhere; an admin re-enables them in Settings → Users
  user list
  source add --name N --format alertmanager|grafana|pagerduty|generic [--client SLUG]
                           prints the source's token once
  source list
  source rotate-token --name N
                           a new token, printed once; the old one is refused from now on
  source disable --name N  its webhooks are refused (401) and nothing they send is stored
  source enable --name N   takes its webhooks again, with the same token
  team add --slug S --name N
  team list
  demo reset               delete the demo estate and build it again
  topology import FILE.json|FILE.csv|- [--format json|csv]
                           add or update clients, sites, nodes and links (all or nothing;
                           problems are reported with their line numbers)
  db migrate               apply pending migrations
  db status                show applied and known migrations
  secrets status           which keys the stored secrets are sealed with
  secrets rotate-key       a new key in the data folder's key file, the old one kept as previous,
                           every stored secret re-sealed with the new key (all or nothing)
  secrets reset --yes      after the key is lost: new push keys, Grafana HMAC secrets cleared

Environment: WATCHFLOOR_DATA (default ./data) or DATABASE_URL, as for the server.`;

type Options = ParseArgsConfig['options'];
const common = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } satisfies Options;

function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...common, ...options }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => String(r[c] ?? ''))))].join('\n');
}

/**
 * What a command's surroundings lend it: a running server (behind the admin socket) its open sockets, live
 * demo generator and change writer; the CLI alone on Postgres the way to tell the servers on that database.
 */
export interface CommandHooks {
  /**
   * A running server's renames, so a rename's change rows go through its writer and reach its screens after
   * commit. Without them the command writes through a writer of its own (see renamesOf).
   */
  renames?: Renames;
  resetDemo?: () => Promise<void>;
  /** A user's sessions were ended (password reset, disabled): close their open sockets too. */
  userRevoked?: (userId: string) => Promise<void>;
  /**
   * A source's token, state or secret changed, run by the server itself (the admin socket): its ingest must forget
   * the sources it holds. Other processes hear it from the change's transaction.
   */
  sourceChanged?: () => void;
  /** A topology was imported: lay out the new nodes and tell the screens. */
  topologyImported?: TopologyImported;
  /** The CLI alone laid out an imported topology: tell the screens of the servers on its Postgres. */
  topologyChanged?: TopologyChanged;
  /**
   * The secret keys `secrets …` commands work with: a running server's own (its ring), or the CLI's, loaded
   * only for these commands (`generate`: create a missing key file, for `secrets reset`).
   */
  secretsSetup?: (options: { generate: boolean }) => Promise<SecretsSetup>;
}

function secretsSetupOf(hooks: CommandHooks, options: { generate: boolean }): Promise<SecretsSetup> {
  if (!hooks.secretsSetup) throw new Error('no secret keys were given to this command');
  return hooks.secretsSetup(options);
}

/**
 * The renames a command writes through: the server's, or the CLI's own writer's. The CLI alone publishes to
 * no screen of its own; on Postgres its writer's notice tells every server at commit, and on PGlite no server
 * runs (it reads everything when it starts).
 */
function renamesOf(database: Database, hooks: CommandHooks): Renames {
  return hooks.renames ?? new Renames(database, new ChangeWriter(database, () => {}));
}

/** The source an operator named, or the refusal that says there is none. */
async function sourceNamed(database: Database, name: string): Promise<{ id: string }> {
  const found = await findSourceByName(database.db, name);
  if (!found) throw new DomainError('not_found', `no source named ${name} (watchfloor source list shows them)`, 'name');
  return found;
}

/** A command whose arguments are valid; it still needs a database to run. */
export type PreparedCommand = (database: Database, hooks: CommandHooks) => Promise<CommandResult>;

const ok = (value: unknown, text: string, json: boolean | undefined): CommandResult => ({
  code: 0,
  stdout: (json ? JSON.stringify(value) : text) + '\n',
  stderr: '',
});

/**
 * Checks a command's arguments without touching any database, so a typo costs nothing.
 * @returns the command to run, or the usage error to print.
 */
export function prepareCommand(argv: string[], stdin: string | null): PreparedCommand | CommandResult {
  const passwordFromStdin = (values: { 'password-stdin'?: boolean }) => {
    if (!values['password-stdin']) return undefined;
    const pw = (stdin ?? '').replace(/\r?\n$/, '');
    return parseOrThrow(passwordSchema, pw, 'password');
  };
  try {
    const [group, action, ...rest] = argv;
    const key = `${group ?? ''} ${action ?? ''}`.trim();
    switch (key) {
      case 'user add': {
        const v = parse(rest, { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, 'password-stdin': { type: 'boolean' } });
        const input = parseOrThrow(
          createUserRequest,
          { email: required(v, 'email'), name: required(v, 'name'), role: required(v, 'role'), password: passwordFromStdin(v) },
          'arguments',
        );
        return async (database) => {
          const created = await addUser(database.db, input, (tx, user) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'user.create', entity: 'user', entityId: user.id, detail: { after: { email: user.email, name: user.name, role: user.role } } }),
          );
          const text = `Created ${created.user.role} ${created.user.email} (${created.user.id})` + (created.oneTimePassword ? `\nOne-time password (shown once; must be changed at first sign-in): ${created.oneTimePassword}` : '');
          return ok({ id: created.user.id, email: created.user.email, role: created.user.role, ...(created.oneTimePassword ? { oneTimePassword: created.oneTimePassword } : {}) }, text, v.json);
        };
      }
      case 'user reset-password': {
        const v = parse(rest, { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } });
        const emailValue = parseOrThrow(emailSchema, required(v, 'email'), 'email');
        const newPassword = passwordFromStdin(v);
        return async (database, hooks) => {
          const result = await resetPassword(database.db, { email: emailValue }, newPassword, (tx, user) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'user.reset_password', entity: 'user', entityId: user.id, detail: {} }),
          );
          await hooks.userRevoked?.(result.user.id);
          const text = `Password reset for ${result.user.email}; their sessions were ended.` + (result.oneTimePassword ? `\nOne-time password (shown once): ${result.oneTimePassword}` : '');
          return ok({ id: result.user.id, email: result.user.email, ...(result.oneTimePassword ? { oneTimePassword: result.oneTimePassword } : {}) }, text, v.json);
        };
      }
      case 'user disable': {
        const v = parse(rest, { email: { type: 'string' } });
        const emailValue = parseOrThrow(emailSchema, required(v, 'email'), 'email');
        return async (database, hooks) => {
          const found = await findUserByEmail(database.db, emailValue);
          if (!found) throw new DomainError('not_found', `no user with email ${emailValue}`, 'email');
          // Disabling renames nobody: a plain transaction (not the writer's) holds the change and its audit row.
          const { user } = await database.db.transaction(async (tx) => {
            const updated = await updateUser(tx, found.id, { disabled: true });
            await recordAudit(database, tx, { ...BY_CLI, action: 'user.update', entity: 'user', entityId: found.id, detail: { changed: { disabled: true }, signedOut: updated.signedOut } });
            return updated;
          });
          await hooks.userRevoked?.(user.id);
          return ok({ id: user.id, email: user.email, disabled: true }, `Disabled ${user.email}; their sessions were ended.`, v.json);
        };
      }
      case 'user list': {
        const v = parse(rest, {});
        return async ({ db }) => {
          const users = await listUsers(db);
          return ok(users, table(users.map((u) => ({ ...u, disabled: u.disabled ? 'yes' : '' })), ['email', 'name', 'role', 'disabled', 'id']), v.json);
        };
      }
      case 'source add': {
        const v = parse(rest, { name: { type: 'string' }, format: { type: 'string' }, client: { type: 'string' } });
        // No HMAC secret here: a secret in the arguments would sit in shell histories and process lists.
        const input = parseOrThrow(createSourceRequest.omit({ hmacSecret: true }), { name: required(v, 'name'), format: required(v, 'format'), client: v.client }, 'arguments');
        return async (database) => {
          const { source, token } = await addSource(database.db, input, (tx, created) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'source.create', entity: 'source', entityId: created.id, detail: { after: input } }),
          );
          return ok({ id: source.id, token }, `Created ${source.format} source ${source.name} (${source.id})\nToken (shown once, store it in the sender): ${token}`, v.json);
        };
      }
      case 'source list': {
        const v = parse(rest, {});
        return async ({ db }) => {
          const list = await listSources(db);
          return ok(list, table(list.map((s) => ({ ...s, token: `${s.tokenPrefix}…`, client: s.defaultClient ?? '' })), ['name', 'format', 'client', 'token', 'id']), v.json);
        };
      }
      case 'source rotate-token': {
        const v = parse(rest, { name: { type: 'string' } });
        const name = required(v, 'name');
        return async (database, hooks) => {
          const found = await sourceNamed(database, name);
          const { source, token } = await rotateSourceToken(database.db, found.id, (tx, rotated) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'source.rotate_token', entity: 'source', entityId: rotated.id, detail: { changed: { token: '(rotated)' } } }),
          );
          hooks.sourceChanged?.();
          return ok(
            { id: source.id, token },
            `New token for ${source.format} source ${source.name} (${source.id}); the old one is refused from now on.\nToken (shown once, store it in the sender): ${token}`,
            v.json,
          );
        };
      }
      case 'source disable':
      case 'source enable': {
        const v = parse(rest, { name: { type: 'string' } });
        const name = required(v, 'name');
        const enabled = action === 'enable';
        return async (database, hooks) => {
          const found = await sourceNamed(database, name);
          const source = await setSourceEnabled(database.db, found.id, enabled, (tx, updated) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'source.update', entity: 'source', entityId: updated.id, detail: { changed: { enabled } } }),
          );
          hooks.sourceChanged?.();
          const text = enabled ? `Enabled source ${source.name}: its webhooks are taken again.` : `Disabled source ${source.name}: its webhooks are refused until it is enabled again.`;
          return ok({ id: source.id, name: source.name, enabled: source.enabled }, text, v.json);
        };
      }
      case 'team add': {
        const v = parse(rest, { slug: { type: 'string' }, name: { type: 'string' } });
        const input = parseOrThrow(createTeamRequest, { slug: required(v, 'slug'), name: required(v, 'name') }, 'arguments');
        return async (database) => {
          const team = await createTeam(database, input, (tx, created) =>
            recordAudit(database, tx, { ...BY_CLI, action: 'team.create', entity: 'team', entityId: created.id, detail: { after: created } }),
          );
          return ok({ id: team.id, slug: team.slug, name: team.name }, `Created team ${team.name} (${team.slug}, ${team.id})`, v.json);
        };
      }
      case 'team list': {
        const v = parse(rest, {});
        return async (database) => {
          const teams = await listTeams(database);
          return ok(teams, table(teams.map((t) => ({ ...t, members: t.members.map((m) => m.email).join(', ') })), ['slug', 'name', 'members', 'id']), v.json);
        };
      }
      case 'demo reset': {
        const v = parse(rest, {});
        return async (database, hooks) => {
          // A running server rebuilds it, tells its screens and streams with fresh tokens. Alone, the CLI has
          // no screens to tell, but records the change rows all the same.
          await (hooks.resetDemo ? hooks.resetDemo() : resetDemoEstate(database, new ChangeWriter(database, () => {})));
          return ok({ reset: true }, 'The demo estate was rebuilt.', v.json);
        };
      }
      case 'topology import': {
        const args = parseImportArgs(rest);
        if ('usage' in args) throw new UsageError(args.usage);
        const apply = prepareTopologyImport(args, stdin);
        return async (database, hooks) => {
          const { summary, text } = await apply(database, { ...hooks, renames: renamesOf(database, hooks) });
          return ok(summary, text, args.json);
        };
      }
      case 'db migrate': {
        const v = parse(rest, {});
        return async (database) => {
          await database.migrate();
          const status = await database.migrationStatus();
          return ok(status, `Migrations applied: ${status.applied} of ${status.known}`, v.json);
        };
      }
      case 'db status': {
        const v = parse(rest, {});
        return async (database) => {
          const status = await database.migrationStatus();
          const text = `database: ${database.kind}\nmigrations applied: ${status.applied} of ${status.known}${status.applied < status.known ? ' (run `watchfloor db migrate`)' : ' (up to date)'}`;
          return ok({ database: database.kind, ...status }, text, v.json);
        };
      }
      case 'secrets status': {
        const v = parse(rest, {});
        return async (database, hooks) => {
          const status = await secretsStatus(database, await secretsSetupOf(hooks, { generate: false }));
          // Values no key here opens: a script checking before it drops a previous key must see a failure.
          return { ...ok(status, describeSecretsStatus(status), v.json), code: status.unopenable > 0 ? 1 : 0 };
        };
      }
      case 'secrets rotate-key': {
        const v = parse(rest, {});
        return async (database, hooks) => {
          const setup = await secretsSetupOf(hooks, { generate: false });
          const rotation = await rotateSecretKey(database, setup);
          return ok(rotation, describeKeyRotation(rotation, setup), v.json);
        };
      }
      case 'secrets reset': {
        const v = parse(rest, { yes: { type: 'boolean' } });
        if (!v.yes) {
          throw new UsageError(
            'secrets reset replaces the stored secrets no key opens any more: phones must enable notifications again, Acknowledge links already sent stop working, ' +
              'and Grafana sources lose their HMAC secret. If the key can still be found, put it back instead. Add --yes to reset',
          );
        }
        return async (database, hooks) => {
          const setup = await secretsSetupOf(hooks, { generate: true });
          const reset = await resetLostSecrets(database, setup);
          // Grafana sources lost their HMAC secret: servers must not go on checking with the one they hold.
          hooks.sourceChanged?.();
          return ok({ ...reset, generatedKeyFile: setup.generated }, describeSecretsReset(reset, setup), v.json);
        };
      }
      default:
        throw new UsageError(`unknown command: ${key}`);
    }
  } catch (error) {
    return failure(argv, error);
  }
}

function failure(argv: string[], error: unknown): CommandResult {
  const json = argv.includes('--json');
  const fail = (code: number, message: string, usage: boolean): CommandResult => ({
    code,
    stdout: '',
    stderr: json ? JSON.stringify({ error: message }) + '\n' : `watchfloor: ${message}\n${usage ? `\n${USAGE}\n` : ''}`,
  });
  if (error instanceof UsageError) return fail(2, error.message, true);
  if (error instanceof DomainError) return fail(error.code === 'validation_failed' ? 2 : 1, error.message, false);
  if (error instanceof StoredSecretError) return fail(1, error.message, false);
  throw error;
}

/** Runs a command whose arguments were already checked; refusals become messages and exit codes. */
export async function runPrepared(argv: string[], prepared: PreparedCommand, database: Database, hooks: CommandHooks = {}): Promise<CommandResult> {
  try {
    return await prepared(database, hooks);
  } catch (error) {
    return failure(argv, error);
  }
}

/**
 * Runs one CLI command against a database. The same function serves the CLI process and the
 * running server's admin socket, so a command behaves the same either way.
 */
export async function runCommand(database: Database, argv: string[], stdin: string | null, hooks: CommandHooks = {}): Promise<CommandResult> {
  const prepared = prepareCommand(argv, stdin);
  return typeof prepared === 'function' ? runPrepared(argv, prepared, database, hooks) : prepared;
}
