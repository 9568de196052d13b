# One service account per role, each granted on single resources wherever the API allows it. What each
# identity needs is derived from the code, not guessed: infra/permissions.json maps every Google API call
# in src/ to its IAM permission and resource, and test/infra/permissions.test.ts checks these grants
# against it (and fails when the code calls an API the table does not list).
#   worker MODE: object access on the destination bucket only (read-only for syncCheck); consume its own
#     subscription; publish its own error topic and its own dead-letter topic (a malformed message is
#     moved there by the worker itself, src/worker/errorTopic.ts); read the credentials secret (and the
#     signing key when it fetches through CloudFront);
#   publisher: publish the three work topics and read their metadata (src/publisher/topic.ts checks the
#     topic exists before it claims a row: pubsub.topics.get, which roles/pubsub.publisher lacks); consume
#     the syncCheck and rsync subscriptions (`ott reset --purge` seeks them to now and drains them); read
#     the credentials secret.
# Project-level grants are limited to what has no resource-level form: reading config entities
# (Datastore IAM is per database, not per entity, and this project's one database holds only the config
# entities) and writing logs and metrics (Ops Agent). Every other grant names its single resource, which
# narrows further than an IAM condition on the project could, so there are no conditions.
# No role on the project is an admin, owner or editor role; test/infra/terraform.test.ts holds the list.
# Cloud SQL needs no IAM role: workers connect to its private IP with the MySQL user and password from
# the credentials secret (roles/cloudsql.client is only for the Cloud SQL Auth Proxy / connectors).

locals {
  project_roles = ["roles/datastore.viewer", "roles/logging.logWriter", "roles/monitoring.metricWriter"]
  bucket_name   = var.create_gcs_bucket ? google_storage_bucket.destination[0].name : var.gcs_bucket
  # Modes whose subscription `ott reset --purge` may seek and drain from the publisher VM.
  resettable = { for mode, m in local.modes : mode => m if m.resettable }
}

resource "google_service_account" "worker" {
  for_each     = local.modes
  account_id   = local.name[each.key].service_account
  display_name = "ott ${each.key} worker"
  description  = "Runs ott ${each.key} on the ${each.key} MIG: pulls ${local.name[each.key].subscription}, writes gs://${var.gcs_bucket}."
  depends_on   = [google_project_service.api]
}

resource "google_service_account" "publisher" {
  account_id   = "${var.name_prefix}-publisher"
  display_name = "ott publisher"
  description  = "Runs ott migrate, dump, publishObjectsList, publishDirList, status and reset on the publisher VM."
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "worker" {
  for_each = { for pair in setproduct(keys(local.modes), local.project_roles) : "${pair[0]} ${pair[1]}" => { mode = pair[0], role = pair[1] } }
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.worker[each.value.mode].email}"
}

resource "google_project_iam_member" "publisher" {
  for_each = toset(local.project_roles)
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.publisher.email}"
}

# --- Destination bucket ---------------------------------------------------------------------------------
resource "google_storage_bucket" "destination" {
  count                       = var.create_gcs_bucket ? 1 : 0
  name                        = var.gcs_bucket
  location                    = var.gcs_bucket_location != "" ? var.gcs_bucket_location : upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels
  force_destroy               = false
  # Soft delete keeps deleted objects (and bills them) for 7 days by default. rsync deletes mismatched
  # copies and cdnTransfer replaces bad ones; soft_delete_retention_days sets how long they linger
  # (0 = off; a teardown that deletes the bucket is then final).
  soft_delete_policy {
    retention_duration_seconds = var.gcs_soft_delete_retention_days * 86400
  }
}

resource "google_storage_bucket_iam_member" "worker" {
  for_each = local.modes
  bucket   = local.bucket_name
  role     = each.value.bucket_role
  member   = "serviceAccount:${google_service_account.worker[each.key].email}"
}

# --- Pub/Sub --------------------------------------------------------------------------------------------
resource "google_pubsub_subscription_iam_member" "worker_pull" {
  for_each     = local.modes
  subscription = google_pubsub_subscription.work[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.worker[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "worker_errors" {
  for_each = local.modes
  topic    = google_pubsub_topic.errors[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.worker[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "worker_dead_letter" {
  for_each = local.modes
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.worker[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.modes
  topic    = google_pubsub_topic.work[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.publisher.email}"
}

# pubsub.topics.get on the work topics only (roles/pubsub.viewer granted on the topic, not the project).
resource "google_pubsub_topic_iam_member" "publisher_topic_metadata" {
  for_each = local.modes
  topic    = google_pubsub_topic.work[each.key].name
  role     = "roles/pubsub.viewer"
  member   = "serviceAccount:${google_service_account.publisher.email}"
}

resource "google_pubsub_subscription_iam_member" "publisher_purge" {
  for_each     = local.resettable
  subscription = google_pubsub_subscription.work[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.publisher.email}"
}

# --- Secrets --------------------------------------------------------------------------------------------
resource "google_secret_manager_secret_iam_member" "worker_credentials" {
  for_each  = local.modes
  secret_id = google_secret_manager_secret.credentials.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.worker[each.key].email}"
}

resource "google_secret_manager_secret_iam_member" "worker_cloudfront_key" {
  for_each  = { for mode, m in local.modes : mode => m if m.needs_signing_key }
  secret_id = google_secret_manager_secret.cloudfront_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.worker[each.key].email}"
}

resource "google_secret_manager_secret_iam_member" "publisher_credentials" {
  secret_id = google_secret_manager_secret.credentials.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.publisher.email}"
}
