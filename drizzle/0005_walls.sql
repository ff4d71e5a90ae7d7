CREATE TABLE "link_metrics" (
	"link_id" uuid PRIMARY KEY NOT NULL,
	"utilisation" double precision NOT NULL,
	"reported_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "node_pins" (
	"node_id" uuid PRIMARY KEY NOT NULL,
	"pinned_by" uuid,
	"pinned_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "uptime_daily" (
	"node_id" uuid NOT NULL,
	"day" date NOT NULL,
	"down_seconds" integer NOT NULL,
	"degraded_seconds" integer NOT NULL,
	CONSTRAINT "uptime_daily_node_id_day_pk" PRIMARY KEY("node_id","day")
);
--> statement-breakpoint
CREATE TABLE "uptime_hourly" (
	"node_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"down_seconds" integer NOT NULL,
	"degraded_seconds" integer NOT NULL,
	CONSTRAINT "uptime_hourly_node_id_hour_pk" PRIMARY KEY("node_id","hour")
);
--> statement-breakpoint
CREATE TABLE "uptime_periods" (
	"incident_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"severity" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "uptime_periods_incident_id_node_id_pk" PRIMARY KEY("incident_id","node_id")
);
--> statement-breakpoint
CREATE TABLE "uptime_roller_state" (
	"id" text PRIMARY KEY NOT NULL,
	"last_change_id" bigint NOT NULL,
	"rolled_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "walls" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"clients" text[],
	"pages" jsonb NOT NULL,
	"chime" jsonb DEFAULT '{"enabled":false,"repeatMinutes":5}'::jsonb NOT NULL,
	"pixel_shift" boolean DEFAULT true NOT NULL,
	"token_hash" text,
	"token_prefix" text,
	"token_created_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "link_metrics" ADD CONSTRAINT "link_metrics_link_id_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."links"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_pins" ADD CONSTRAINT "node_pins_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_pins" ADD CONSTRAINT "node_pins_pinned_by_users_id_fk" FOREIGN KEY ("pinned_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uptime_daily" ADD CONSTRAINT "uptime_daily_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uptime_hourly" ADD CONSTRAINT "uptime_hourly_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uptime_periods" ADD CONSTRAINT "uptime_periods_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uptime_periods" ADD CONSTRAINT "uptime_periods_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "walls" ADD CONSTRAINT "walls_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "uptime_daily_day_idx" ON "uptime_daily" USING btree ("day");--> statement-breakpoint
CREATE INDEX "uptime_hourly_hour_idx" ON "uptime_hourly" USING btree ("hour");--> statement-breakpoint
CREATE INDEX "uptime_periods_node_idx" ON "uptime_periods" USING btree ("node_id","started_at");--> statement-breakpoint
CREATE INDEX "uptime_periods_open_idx" ON "uptime_periods" USING btree ("node_id") WHERE ended_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "walls_token_hash_key" ON "walls" USING btree ("token_hash");