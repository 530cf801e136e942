// Type test for the web dashboard and metrics in index.d.ts: checked by
// `tsc -p tsconfig.json`, never run. Every `@ts-expect-error` line must fail
// to type-check; everything else must pass.

import {
  createSynchronikManager,
  type DashboardAction,
  type DashboardAuthorizeRequest,
  type DashboardServer,
  type ManagerOptions,
  type MetricsOptions,
  type ServeDashboardOptions,
} from 'synchronik';

/** Compile-time equality of two types. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_ok?: T): void {}
function expectType<T>(_value: T): void {}

// --- The manager option ---------------------------------------------------------
const withLabels = createSynchronikManager({ metrics: { unitLabels: true } });
createSynchronikManager({ metrics: {} });
const metricsOptions: MetricsOptions = { unitLabels: false };
const managerOptions: ManagerOptions = { metrics: metricsOptions };
void managerOptions;
// @ts-expect-error unitLabels is a boolean
createSynchronikManager({ metrics: { unitLabels: 'yes' } });
// @ts-expect-error no such metrics option
createSynchronikManager({ metrics: { taskLabels: true } });

// --- metrics() ----------------------------------------------------------------------
expectType<string>(withLabels.metrics());
// @ts-expect-error metrics() takes nothing
withLabels.metrics('synchronik_runs_total');

// --- serveDashboard -------------------------------------------------------------------
async function serve() {
  const manager = createSynchronikManager();
  const server = await manager.serveDashboard();
  assertType<Equal<typeof server, DashboardServer>>();
  expectType<string>(server.url);
  expectType<string>(server.host);
  expectType<number>(server.port);
  expectType<string>(server.token);
  expectType<Promise<void>>(server.close());
  // @ts-expect-error the server's fields are read-only
  server.port = 1;

  await manager.serveDashboard({ port: 0, host: '127.0.0.1', token: 'secret', basePath: '/ops/', readOnly: true });
  await manager.serveDashboard({
    authorize: (request, action) => {
      expectType<DashboardAuthorizeRequest>(request);
      expectType<DashboardAction>(action);
      expectType<string>(request.method);
      expectType<string>(request.path);
      expectType<string>(request.remoteAddress);
      expectType<string | undefined>(request.headers['x-user']);
      return action !== 'disable';
    },
  });
  // An async hook.
  await manager.serveDashboard({ authorize: async (request) => request.headers['x-user'] === 'ops' });
  const options: ServeDashboardOptions = { host: '::1' };
  await manager.serveDashboard(options);

  // @ts-expect-error port is a number
  await manager.serveDashboard({ port: '8080' });
  // @ts-expect-error no such option
  await manager.serveDashboard({ prot: 8080 });
  // @ts-expect-error the hook answers a boolean
  await manager.serveDashboard({ authorize: () => 'yes' });
  // @ts-expect-error readOnly is a boolean
  await manager.serveDashboard({ readOnly: 1 });
}
void serve;

// --- The actions --------------------------------------------------------------------
assertType<Equal<DashboardAction, 'run' | 'pause' | 'resume' | 'enable' | 'disable' | 'cancel' | 'retry'>>();
// @ts-expect-error not an action
const notAnAction: DashboardAction = 'delete';
void notAnAction;
