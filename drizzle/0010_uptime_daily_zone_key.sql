DROP INDEX "uptime_daily_day_idx";--> statement-breakpoint
ALTER TABLE "uptime_daily" DROP CONSTRAINT "uptime_daily_node_id_day_pk";--> statement-breakpoint
ALTER TABLE "uptime_daily" ALTER COLUMN "time_zone" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "uptime_daily" ADD CONSTRAINT "uptime_daily_time_zone_node_id_day_pk" PRIMARY KEY("time_zone","node_id","day");--> statement-breakpoint
CREATE INDEX "uptime_daily_zone_day_idx" ON "uptime_daily" USING btree ("time_zone","day");