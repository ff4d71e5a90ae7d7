-- The days stored before time zones were UTC days, complete: mark UTC as kept, so the roller neither
-- rebuilds them (UTC is the default zone) nor leaves them behind when the configured zone is another one.
INSERT INTO "uptime_daily_zones" ("time_zone") VALUES ('UTC') ON CONFLICT DO NOTHING;
