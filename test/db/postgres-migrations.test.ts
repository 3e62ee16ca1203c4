import { afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { migrate } from '../../src/db/postgres/migrate.js';
import { migrations } from '../../src/db/postgres/migrations.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function freshSchema(): Promise<TestSchema> {
  const schema = await createTestSchema();
  cleanup.push(() => schema.drop());
  return schema;
}

function poolFor(schema: TestSchema): pg.Pool {
  const pool = new pg.Pool({ connectionString: schema.url, max: 2 });
  cleanup.push(() => pool.end());
  return pool;
}

const tablesIn = async (schema: TestSchema) =>
  (await schema.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema.name])).rows.map(
    (row) => row.table_name,
  );

describe('PostgreSQL migrations', () => {
  it('when the schema is empty, then every migration is applied, in the connection\'s schema, and a second run applies nothing', async () => {
    const schema = await freshSchema();
    const pool = poolFor(schema);
    expect(await migrate(pool)).toEqual(migrations.map((migration) => migration.version));
    expect(await tablesIn(schema)).toEqual(['notes', 'schema_migrations']);
    expect(await migrate(pool)).toEqual([]);
    const recorded = await schema.query(`SELECT version, name FROM schema_migrations ORDER BY version`);
    expect(recorded.rows).toEqual(migrations.map(({ version, name }) => ({ version, name })));
  });

  it('when eight replicas start together on one schema, then they take turns: each migration is applied exactly once', async () => {
    const schema = await freshSchema();
    const pools = Array.from({ length: 8 }, () => poolFor(schema));
    const applied = await Promise.all(pools.map((pool) => migrate(pool)));
    // Each migration is its own turn, so different replicas may apply different ones; none is applied twice.
    expect(applied.flat().sort((a, b) => a - b)).toEqual(migrations.map((migration) => migration.version));
    expect((await schema.query(`SELECT count(*)::int AS n FROM schema_migrations`)).rows[0]!.n).toBe(migrations.length);
  });

  it('when a migration fails halfway, then it is rolled back whole, the error names it, and the earlier ones stay', async () => {
    const schema = await freshSchema();
    const pool = poolFor(schema);
    await migrate(pool);
    const broken = {
      version: 1000,
      name: 'half done',
      sql: `ALTER TABLE notes ADD COLUMN colour text; CREATE TABLE extra (x int); SELECT 1 / 0;`,
    };
    await expect(migrate(pool, [...migrations, broken])).rejects.toThrow(/migration 1000 \(half done\) failed and was rolled back: division by zero/);
    expect(await tablesIn(schema)).toEqual(['notes', 'schema_migrations']);
    const columns = await schema.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'notes'`, [schema.name]);
    expect(columns.rows.map((row) => row.column_name)).not.toContain('colour');
    expect((await schema.query(`SELECT max(version) AS v FROM schema_migrations`)).rows[0]!.v).toBe(migrations.at(-1)!.version);
  });

  it('when the very first migration fails, then the schema is left exactly as it was: empty', async () => {
    const schema = await freshSchema();
    const pool = poolFor(schema);
    await expect(migrate(pool, [{ version: 1, name: 'broken', sql: `CREATE TABLE notes (id int); SELECT no_such_function();` }])).rejects.toThrow(
      /migration 1 \(broken\)/,
    );
    expect(await tablesIn(schema)).toEqual([]);
  });
});
