// A private MariaDB: own datadir, socket and port, so it never collides with a server already on 3306.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import type { StackContext, StartedService } from './index.js';
import { freePort, spawnService, type Service } from './proc.js';

/** How long a clean shutdown may take before down() kills the server (it normally takes well under a second). */
const SHUTDOWN_GRACE_MS = 60_000;

function findBinary(names: string[]): string {
  for (const name of names) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`${names[0]} not found: install the Debian package mariadb-server (apt-get install -y mariadb-server)`);
}

/** Server TLS material (PEM files): MariaDB then offers TLS with this certificate; plain connections still work. */
export interface MariadbTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface MariadbOptions {
  tls?: MariadbTls;
}

export async function startMariadb(ctx: StackContext, opts: MariadbOptions = {}): Promise<StartedService> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  const datadir = join(ctx.dir, 'data');
  execFileSync(
    installDb,
    ['--no-defaults', '--user=root', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${datadir}`,
    `--socket=${join(ctx.dir, 's')}`,
    `--pid-file=${join(ctx.dir, 'p')}`,
    `--port=${port}`,
    // After down(), up() binds the same port again: wait for it rather than fail on a lingering socket.
    '--port-open-timeout=30',
    '--bind-address=127.0.0.1',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_bin',
    '--local-infile=1',
    '--max-connections=500',
    // Test data is disposable: trade durability for speed. A clean shutdown (down()) still writes every
    // committed transaction; only a crash (SIGKILL) could lose the last second of commits.
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
    '--innodb-buffer-pool-size=256M',
    '--skip-log-bin',
    ...(opts.tls ? [`--ssl-cert=${opts.tls.certFile}`, `--ssl-key=${opts.tls.keyFile}`, `--ssl-ca=${opts.tls.caFile}`] : []),
  ];
  const launch = (): Promise<Service> =>
    spawnService({
      name: 'mariadb',
      cmd: mariadbd,
      args,
      logFile: join(ctx.logDir, 'mariadb.log'),
      ready: async () => {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '' });
        await c.end();
        return true;
      },
    });
  let svc: Service | undefined = await launch();
  // down() and up() run one at a time, in call order, whoever calls them (the stack's control server).
  let last: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => (last = last.then(fn, fn));
  // A password-protected admin account: the secrets redaction tests need a real password to hunt for.
  const c = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '' });
  await c.query(`CREATE USER 'ott'@'%' IDENTIFIED BY '${password}'`);
  await c.query(`GRANT ALL PRIVILEGES ON *.* TO 'ott'@'%' WITH GRANT OPTION`);
  await c.end();
  return {
    name: 'mariadb',
    env: { OTT_MYSQL_HOST: '127.0.0.1', OTT_MYSQL_PORT: String(port), OTT_MYSQL_USER: 'ott', OTT_MYSQL_PASSWORD: password },
    stop: async () => {
      await svc?.stop();
      svc = undefined;
    },
    // An outage, as a chaos run needs one: a clean shutdown (SIGTERM; mariadbd writes what was committed
    // and exits), then a start on the same port and data dir. Clients see refused connections meanwhile.
    down: () =>
      serial(async () => {
        await svc?.stop(SHUTDOWN_GRACE_MS);
        svc = undefined;
      }),
    up: () =>
      serial(async () => {
        svc ??= await launch();
      }),
  };
}
