# One service account per role, each granted on single resources wherever the API allows it:
#   worker MODE: object access on the destination bucket only (read-only for syncCheck), pull its own
#     subscription, publish its own error topic, read the credentials secret (and the signing key when
#     it fetches through CloudFront);
#   publisher: publish the three work topics, read the credentials secret.
# Project-level grants are limited to what has no resource-level form: reading config entities
# (Datastore IAM is per database, not per entity) and writing logs and metrics (Ops Agent).
# No role on the project is an admin, owner or editor role; test/infra/terraform.test.ts holds the list.
# Cloud SQL needs no IAM role: workers connect to its private IP with the MySQL user and password from
# the credentials secret (roles/cloudsql.client is only for the Cloud SQL Auth Proxy / connectors).

locals {
  project_roles = {
    datastore_viewer = "roles/datastore.viewer"
    log_writer       = "roles/logging.logWriter"
    metric_writer    = "roles/monitoring.metricWriter"
  }
  # Every (service account, project role) pair.
  project_grants = merge(
    { for pair in setproduct(keys(local.modes), keys(local.project_roles)) : "${pair[0]}-${pair[1]}" => {
      member = "serviceAccount:${google_service_account.worker[pair[0]].email}"
      role   = local.project_roles[pair[1]]
    } },
    { for r, role in local.project_roles : "publisher-${r}" => {
      member = "serviceAccount:${google_service_account.publisher.email}"
      role   = role
    } },
  )
  bucket_name = var.create_gcs_bucket ? google_storage_bucket.destination[0].name : var.gcs_bucket
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

resource "google_project_iam_member" "grants" {
  for_each = local.project_grants
  project  = var.project_id
  role     = each.value.role
  member   = each.value.member
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

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.modes
  topic    = google_pubsub_topic.work[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.publisher.email}"
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
