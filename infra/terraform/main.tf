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
      # Carries the CDN bytes: an external IP keeps them off Cloud NAT's per-GiB charge (network.tf).
      external_ip = true
      resettable  = false # `ott reset` takes syncCheck or rsync
    }
    syncCheck = {
      slug              = "sync-check"
      bucket_role       = "roles/storage.objectViewer"
      needs_signing_key = false
      external_ip       = false # lists S3 and GCS only: a few KiB per subfolder through NAT
      resettable        = true
    }
    rsync = {
      slug              = "rsync"
      bucket_role       = "roles/storage.objectUser"
      needs_signing_key = true # the default rsync_engine (cdn) fetches through CloudFront
      external_ip       = true
      resettable        = true
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

  zones = length(var.zones) > 0 ? var.zones : slice(data.google_compute_zones.available.names, 0, 3)

  # The image each VM boots, by name: worker_image for all, worker_image_by_mode to pilot a new image on
  # one mode first. Empty means the newest image of worker_image_family, resolved at plan time, so a new
  # build shows up as a diff (a new template) instead of going live silently at the next scale-out.
  image_name = { for k in concat(keys(local.modes), ["publisher"]) : k => lookup(var.worker_image_by_mode, k, var.worker_image) }

  apis = [
    "cloudresourcemanager.googleapis.com", # the project data source and project IAM grants
    "serviceusage.googleapis.com",
    "billingbudgets.googleapis.com", # monitoring.tf: the budget
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

# Pinned by self link: the templates name the exact image; rollback is pinning the previous one.
data "google_compute_image" "ott" {
  for_each = local.image_name
  project  = var.project_id
  name     = each.value != "" ? each.value : null
  family   = each.value != "" ? null : var.worker_image_family
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
