-- Places one event in a room's log, atomically: the epoch (created if the log is new or was
-- lost), the next offset, the retained tail (capped by count, trimmed by age) and the publish.
-- KEYS: 1 epoch, 2 last offset, 3 tail stream
-- ARGV: 1 channel, 2 epoch to use if none exists, 3 tail max events, 4 tail max age ms, 5 payload
local ep = redis.call('GET', KEYS[1])
if not ep then
  ep = ARGV[2]
  redis.call('SET', KEYS[1], ep)
  redis.call('DEL', KEYS[2], KEYS[3])
end
local off = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'o', off, 'p', ARGV[5])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XTRIM', KEYS[3], 'MINID', '~', tostring(now_ms - tonumber(ARGV[4])))
-- An idle log expires as a whole once its newest event is older than the retention age.
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[1], 'E\n' .. ep .. '\n' .. off .. '\n' .. ARGV[5])
return {ep, off}
