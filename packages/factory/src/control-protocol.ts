import { printable } from '@docker-cernvm/cli-kit';
import * as z from 'zod';
import { MAX_SLOTS } from './config.js';

/** A request to a running factory: one JSON object per connection, at most this many bytes. */
export const MAX_REQUEST_BYTES = 4096;

/** A drain's deadline is at most this far ahead (30 days): a longer one is a typo, not a plan. */
export const MAX_DEADLINE_SECONDS = 30 * 86_400;

export const controlRequestSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('status') }).strict(),
  z
    .object({
      command: z.literal('drain'),
      deadlineSeconds: z.number().int().min(0).max(MAX_DEADLINE_SECONDS).optional(),
    })
    .strict(),
  z.object({ command: z.literal('resume') }).strict(),
  z.object({ command: z.literal('reload') }).strict(),
  z
    .object({
      command: z.literal('scale'),
      slots: z.number().int().min(0).max(MAX_SLOTS),
      force: z.boolean().optional(),
      deadlineSeconds: z.number().int().min(0).max(MAX_DEADLINE_SECONDS).optional(),
    })
    .strict(),
]);

export type ControlRequest = z.output<typeof controlRequestSchema>;

/** A refusal carries the factory's error code when it has one (the CLI then exits 2 for a usage error). */
export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string; code?: string };

/**
 * Parses one request; every refusal is a one-line reason and nothing is done. The size is checked by the server
 * before the text gets here.
 */
export function parseControlRequest(text: string): { request: ControlRequest } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'malformed request: expected one JSON object' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'malformed request: expected one JSON object' };
  }
  const parsed = controlRequestSchema.safeParse(value);
  if (parsed.success) return { request: parsed.data };
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'invalid_union' || (issue.path[0] === 'command' && issue.path.length === 1)) {
    return { error: 'unknown command: expected one of status, drain, resume, reload, scale' };
  }
  // Quoted and escaped: the key is the client's, and may hold a quote, a tab or a newline.
  if (issue.code === 'unrecognized_keys') return { error: printable(`unknown key ${JSON.stringify(issue.keys[0])}`) };
  const key = issue.path.join('.') || 'request';
  if (key === 'slots') return { error: `slots: expected a whole number from 0 to ${MAX_SLOTS}` };
  if (key === 'force') return { error: 'force: expected true or false' };
  if (key === 'deadlineSeconds')
    return { error: `deadlineSeconds: expected whole seconds from 0 to ${MAX_DEADLINE_SECONDS}` };
  return { error: `${key}: ${issue.message}` };
}
