/** The keys of the inbox's log in the Redis store, all under one prefix. */
export interface LogKeys {
  /** Hash: `epoch` (shared by every inbox on the store) and `created`. */
  meta: string;
  /** The seq counter: the highest seq ever handed out. */
  seq: string;
  /** The newest record's timestamp: timestamps never go backward along the log. */
  ts: string;
  /** The stream: one entry `<seq>-0` per mail (field `r`: the record), `<seq>-<n>` per clear (field `c`). */
  stream: string;
  /** One string key per raw message, named by its `RawRef.file`. */
  message(file: string): string;
}

export const logKeys = (prefix: string): LogKeys => ({
  meta: `${prefix}inbox:meta`,
  seq: `${prefix}inbox:seq`,
  ts: `${prefix}inbox:ts`,
  stream: `${prefix}inbox:log`,
  message: (file) => `${prefix}inbox:msg:${file}`,
});

/*
 * Appends one mail atomically: the seq (never below ARGV[3], what this process has seen, so
 * a store that lost its last second does not hand a seen seq out again), the timestamp
 * (never below the last one), the raw message's key and the stream entry whose id is the
 * seq. Either all of it is in Redis or none: no raw message without its event, and the
 * reply (so the `250`) comes only once Redis holds both.
 * KEYS: meta, seq, ts, stream, message. ARGV: epoch, now ms, seq floor, the record's JSON
 * after its `ts` (`,"type":…}`), the raw message.
 * Answers {seq, ts}.
 */
export const APPEND = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then
  return redis.error_reply('EPOCH the log in the store has epoch ' .. tostring(epoch) .. ', not ' .. ARGV[1])
end
local seq = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if seq <= floor then
  seq = floor + 1
  redis.call('SET', KEYS[2], string.format('%d', seq))
end
local ts = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if last > ts then ts = last end
local s = string.format('%d', seq)
local t = string.format('%d', ts)
redis.call('SET', KEYS[3], t)
redis.call('SET', KEYS[5], ARGV[5])
redis.call('XADD', KEYS[4], s .. '-0', 'r', '{"seq":' .. s .. ',"id":"evt_' .. epoch .. '_' .. s .. '","ts":' .. t .. ARGV[4])
return {s, t}
`;

/*
 * Records a clear in the stream after the newest seq, so every inbox reading the stream
 * clears the same entries (those before it) from its index. Uses no seq.
 * KEYS: meta, seq, stream. ARGV: epoch, identity. Answers the entry's id.
 */
export const CLEAR = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then
  return redis.error_reply('EPOCH the log in the store has epoch ' .. tostring(epoch) .. ', not ' .. ARGV[1])
end
local seq = redis.call('GET', KEYS[2]) or '0'
return redis.call('XADD', KEYS[3], seq .. '-*', 'c', ARGV[2])
`;

/*
 * Opens the log: creates its epoch if none exists, answers {epoch, the seq counter}.
 * KEYS: meta, seq. ARGV: a fresh epoch, the time as ISO text.
 */
export const OPEN = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
redis.call('HSETNX', KEYS[1], 'created', ARGV[2])
return {redis.call('HGET', KEYS[1], 'epoch'), redis.call('GET', KEYS[2]) or '0'}
`;
