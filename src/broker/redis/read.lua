-- Where a room's log stands and, when asked, the events after an offset, read atomically so
-- that the position and the events agree.
-- KEYS: 1 epoch, 2 last offset, 3 tail stream
-- ARGV: 1 epoch to use if none exists, 2 tail max age ms,
--       3 the reader's epoch ('' for position only), 4 the reader's last offset, 5 most events
-- Returns {epoch, last offset, entries newest first}; entries are read only when the reader's
-- epoch is current and it is behind.
local ep = redis.call('GET', KEYS[1])
if not ep then
  ep = ARGV[1]
  redis.call('SET', KEYS[1], ep, 'PX', ARGV[2])
  redis.call('DEL', KEYS[2], KEYS[3])
end
local off = tonumber(redis.call('GET', KEYS[2]) or '0')
local entries = {}
if ARGV[3] == ep then
  local since = tonumber(ARGV[4])
  if since < off and off - since <= tonumber(ARGV[5]) then
    entries = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', off - since)
  end
end
return {ep, off, entries}
