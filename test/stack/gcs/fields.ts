// Partial responses: the JSON API's `fields` parameter (`name,size`, `items(name,size),nextPageToken`,
// `owner/entity`, `*`), applied to every JSON answer as GCS does. Clients ask for the fields they read
// (the copy path: generation, size and hashes of what it uploaded); answering with the whole resource
// would hide what their request costs and what it may rely on.
import { badRequest } from './errors.js';

/** Field name -> its sub-selection (true: the whole value). */
export type Selection = Map<string, Selection | true>;

function merge(into: Selection, name: string, sub: Selection | true): void {
  const had = into.get(name);
  if (had === undefined || sub === true) into.set(name, sub);
  else if (had !== true) for (const [k, v] of sub) merge(had, k, v);
}

/** Parses a `fields` value; a malformed one is a 400, as GCS answers. */
export function parseFields(text: string): Selection {
  let i = 0;
  const fail = (): never => {
    throw badRequest(`Invalid field selection ${text}`);
  };
  const name = (): string => {
    const start = i;
    while (i < text.length && !',()/'.includes(text[i])) i++;
    const n = text.slice(start, i).trim();
    return n || fail();
  };
  // One field: a name, then `/rest` (a path) or `(list)` (a sub-selection) or nothing.
  const field = (into: Selection): void => {
    const n = name();
    if (text[i] === '/') {
      i++;
      const sub: Selection = new Map();
      field(sub);
      merge(into, n, sub);
    } else if (text[i] === '(') {
      i++;
      const sub = list();
      if (text[i++] !== ')') fail();
      merge(into, n, sub);
    } else merge(into, n, true);
  };
  const list = (): Selection => {
    const sel: Selection = new Map();
    for (;;) {
      field(sel);
      if (text[i] !== ',') return sel;
      i++;
    }
  };
  const sel = list();
  if (i !== text.length) fail();
  return sel;
}

/** The parts of `value` that `sel` names; arrays apply it to each element, `*` keeps every field. */
export function selectFields(value: unknown, sel: Selection | true): unknown {
  if (sel === true || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => selectFields(v, sel));
  const src = value as Record<string, unknown>;
  const all = sel.get('*');
  const out: Record<string, unknown> = {};
  if (all !== undefined) for (const [k, v] of Object.entries(src)) out[k] = selectFields(v, all);
  for (const [k, sub] of sel) if (k !== '*' && k in src) out[k] = selectFields(src[k], sub);
  return out;
}
