/**
 * Lists and rows travel to SQL as one jsonb parameter: PGlite and postgres.js both take it, and a
 * batch of any size is one parameter, not one per value.
 */
import { sql, type SQL } from 'drizzle-orm';

/** A value (rows for jsonb_to_recordset, a document) as one jsonb parameter. */
export const json = (value: unknown): SQL => sql`${JSON.stringify(value)}::jsonb`;

/** A text[] of these values. */
export const textArray = (values: readonly string[]): SQL => sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

/** `= any(…)` of a text list; `any(array(…))` lets the planner use the index. */
export const anyText = (values: readonly string[]): SQL => sql`any(${textArray(values)})`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` can be a uuid column's value: anything else is answered "not found" before a query fails on it. */
export function isUuid(value: unknown): boolean {
  return typeof value === 'string' && UUID.test(value);
}
