ALTER TABLE "signals" DROP CONSTRAINT "signals_source_id_sources_id_fk";
