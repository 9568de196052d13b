# Names, per-mode settings and the APIs. One worker mode = one topic, one subscription, one dead-letter
# topic, one error topic, one service account, one instance template, one MIG and one autoscaler.

locals {
  modes = {
    cdnTransfer = {
      slug = "cdn-transfer"
      # What the mode does to the destination bucket: copy objects in (create, overwrite, read back
      # metadata to verify) -> objectUser; only compare sizes and counts -> objectViewer.
      bucket_role = "roles/storage.objectUser"
      # Signs CloudFront URLs.
      needs_signing_key = true
    }
    syncCheck = {
      slug              = "sync-check"
      bucket_role       = "roles/storage.objectViewer"
      needs_signing_key = false
    }
    rsync = {
      slug              = "rsync"
      bucket_role       = "roles/storage.objectUser"
      needs_signing_key = true # the default rsync_engine (cdn) fetches through CloudFront
    }
  }

  name = {
    for mode, m in local.modes : mode => {
      topic             = "${var.name_prefix}-${m.slug}"
      subscription      = "${var.name_prefix}-${m.slug}-workers"
      dead_letter_topic = "${var.name_prefix}-${m.slug}-dead-letter"
      dead_letter_hold  = "${var.name_prefix}-${m.slug}-dead-letter-hold"
      error_topic       = "${var.name_prefix}-${m.slug}-errors"
      error_hold        = "${var.name_prefix}-${m.slug}-errors-hold"
      service_account   = "${var.name_prefix}-${m.slug}"
      config_key        = "${var.config_kind}/${mode}"
    }
  }

  zones        = length(var.zones) > 0 ? var.zones : slice(data.google_compute_zones.available.names, 0, 3)
  worker_image = var.worker_image != "" ? var.worker_image : "projects/${var.project_id}/global/images/family/ott-worker"

  apis = [
    "compute.googleapis.com",
    "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com",
    "pubsub.googleapis.com",
    "secretmanager.googleapis.com",
    "datastore.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "iap.googleapis.com",
  ]
}

data "google_project" "this" {
  project_id = var.project_id
}

data "google_compute_zones" "available" {
  region     = var.region
  depends_on = [google_project_service.api]
}

resource "google_project_service" "api" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])
  project  = var.project_id
  service  = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}
