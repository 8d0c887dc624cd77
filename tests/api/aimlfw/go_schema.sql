-- The tables of the Go model management service (aiml-fw-awmf-modelmgmtservice at d9abcc3) as
-- GORM's AutoMigrate creates them on PostgreSQL for its models.ModelRelatedInformation
-- (ModelID, Metadata and ModelInformation embedded; (model_name, model_version) the primary
-- key; `id` unique) and models.TargetEnvironment.
CREATE TABLE "model_related_informations" (
  "id" text,
  "model_name" text,
  "model_version" text,
  "artifact_version" text,
  "description" text,
  "author" text,
  "owner" text,
  "input_data_type" text,
  "output_data_type" text,
  "model_location" text,
  PRIMARY KEY ("model_name", "model_version"),
  CONSTRAINT "uni_model_related_informations_id" UNIQUE ("id")
);
CREATE TABLE "target_environments" (
  "id" text,
  "model_related_information_id" text NOT NULL,
  "platform_name" text,
  "environment_type" text,
  "dependency_list" text,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "idx_target_environments_model_related_information_id"
  ON "target_environments" ("model_related_information_id");
