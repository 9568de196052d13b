# What the operator needs next (infra/README.md walks through it): where to SSH, which secrets to fill,
# which config entity each mode reads, and a config per mode ready for `ott config put`.

locals {
  # String fields of each mode's config; empty ones are left out (the config schema refuses "").
  config_strings = {
    for mode in keys(local.modes) : mode => {
      for k, v in {
        gcp_project                      = var.project_id
        mysql_table                      = var.mysql_table
        credentials_secret_id            = google_secret_manager_secret.credentials.secret_id
        aws_region                       = var.aws_region
        s3_bucket                        = var.s3_bucket
        s3_root_prefix                   = var.s3_root_prefix
        gcs_bucket                       = var.gcs_bucket
        gcs_root_prefix                  = var.gcs_root_prefix
        cloudfront_url_host_pre          = var.cloudfront_url_host_pre
        url_signer_key_pair_id           = var.url_signer_key_pair_id
        url_signer_private_key_secret_id = var.url_signer_key_pair_id != "" ? google_secret_manager_secret.cloudfront_key.secret_id : ""
        pubsub_topic_id                  = google_pubsub_topic.work[mode].name
        pubsub_subscription_id           = google_pubsub_subscription.work[mode].name
        error_pubsub_topic_id            = google_pubsub_topic.errors[mode].name
        dead_letter_topic_id             = google_pubsub_topic.dead_letter[mode].name
      } : k => v if v != ""
    }
  }
}

output "ott_configs" {
  description = "Per mode, the config entity as JSON for `ott config put --config-key KIND/MODE --file FILE` (fill in what is missing, e.g. s3_bucket). No secret is in it."
  value = {
    for mode in keys(local.modes) : mode => jsonencode(merge(local.config_strings[mode], {
      grace_period_seconds = var.grace_period_seconds
    }))
  }
}

output "config_keys" {
  description = "Datastore config entity per mode (--config-key); the workers read these from instance metadata."
  value       = { for mode in keys(local.modes) : mode => local.name[mode].config_key }
}

output "secrets" {
  description = "Secret Manager secrets to fill with `gcloud secrets versions add`: the credentials JSON and the CloudFront signing key (PEM)."
  value = {
    credentials    = google_secret_manager_secret.credentials.secret_id
    cloudfront_key = google_secret_manager_secret.cloudfront_key.secret_id
  }
}

output "sql" {
  description = "Cloud SQL instance (create the MySQL user with gcloud; host goes into mysql_config.host of the credentials secret)."
  value = {
    instance        = google_sql_database_instance.state.name
    connection_name = google_sql_database_instance.state.connection_name
    private_ip      = google_sql_database_instance.state.private_ip_address
    database        = google_sql_database.ott.name
  }
}

output "pubsub" {
  description = "Per mode: work topic, worker subscription, error topic and its hold subscription, dead-letter topic and its hold subscription."
  value = {
    for mode in keys(local.modes) : mode => {
      topic                  = google_pubsub_topic.work[mode].name
      subscription           = google_pubsub_subscription.work[mode].name
      error_topic            = google_pubsub_topic.errors[mode].name
      error_subscription     = google_pubsub_subscription.errors_hold[mode].name
      dead_letter_topic      = google_pubsub_topic.dead_letter[mode].name
      dead_letter_subscriber = google_pubsub_subscription.dead_letter_hold[mode].name
    }
  }
}

output "service_accounts" {
  description = "Service account e-mail per worker mode and for the publisher."
  value = merge(
    { for mode in keys(local.modes) : mode => google_service_account.worker[mode].email },
    { publisher = google_service_account.publisher.email },
  )
}

output "worker_migs" {
  description = "Regional managed instance group per worker mode (for gcloud compute instance-groups managed ...)."
  value       = { for mode in keys(local.modes) : mode => google_compute_region_instance_group_manager.worker[mode].name }
}

output "region" {
  description = "Region of the MIGs, Cloud SQL and NAT."
  value       = var.region
}

output "publisher_ssh" {
  description = "Command that opens a shell on the publisher VM through IAP."
  value       = var.create_publisher_vm ? "gcloud compute ssh ${google_compute_instance.publisher[0].name} --zone ${google_compute_instance.publisher[0].zone} --project ${var.project_id} --tunnel-through-iap" : ""
}

output "grace_period_seconds" {
  description = "The grace period every layer uses (config entity, unit stop timeout, VM graceful shutdown): compare it with the config before `ott config put`."
  value       = var.grace_period_seconds
}

output "sql_max_connections" {
  description = "Cloud SQL max_connections as computed from max_replicas x worker_processes x the per-process pool, plus the publisher and headroom."
  value       = local.sql_max_connections
}

locals {
  vcpus = { for k, t in merge(var.machine_types, { publisher = var.publisher_machine_type }) : k => try(tonumber(regex("custom-([0-9]+)-", t)[0]), tonumber(regex("-([0-9]+)$", t)[0])) }
  # Known at plan time even before the zones data source can be read (it waits for the APIs).
  zone_count = length(var.zones) > 0 ? length(var.zones) : 3
  # What the deployment may hold at once in the region at max_replicas, plus one surge VM per zone and mode
  # during a rollout. infra/quota-preflight.sh compares it with the region's free quota before apply.
  quota_needs = {
    CPUS             = sum([for m in keys(local.modes) : (var.max_replicas[m] + local.zone_count) * local.vcpus[m]]) + local.vcpus.publisher
    INSTANCES        = sum([for m in keys(local.modes) : var.max_replicas[m] + local.zone_count]) + 1
    SSD_TOTAL_GB     = sum([for m in keys(local.modes) : (var.max_replicas[m] + local.zone_count) * var.boot_disk_size_gb[m]]) + 50
    IN_USE_ADDRESSES = (var.worker_external_ip ? sum([for m, x in local.modes : var.max_replicas[m] + local.zone_count if x.external_ip]) : 0) + 2
  }
}

output "quota_needs" {
  description = "Regional Compute Engine quota this deployment needs at max_replicas (metric => amount), for infra/quota-preflight.sh; known at plan time (terraform show -json plan)."
  value       = local.quota_needs
}
