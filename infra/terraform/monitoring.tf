# Alerts and the budget, in code. Every policy notifies alert_emails. Thresholds are variables where an
# operator may want to tune them; the reasons are next to each.

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  display_name = "ott alerts: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
  depends_on = [google_project_service.api]
}

locals {
  alert_channels = [for c in google_monitoring_notification_channel.email : c.id]
  sql_database_id = "${var.project_id}:${google_sql_database_instance.state.name}"
}

# Work waits too long: well before the subscription's 7-day retention drops it (pubsub.tf).
resource "google_monitoring_alert_policy" "oldest_unacked" {
  for_each              = local.modes
  display_name          = "ott ${each.key}: oldest unacked message older than ${var.alert_oldest_unacked_seconds}s"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "ERROR"
  conditions {
    display_name = "oldest_unacked_message_age of ${local.name[each.key].subscription}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.work[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_oldest_unacked_seconds
      duration        = "600s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    content = "Messages on ${local.name[each.key].subscription} wait longer than expected; at 7 days Pub/Sub drops them. Raise replica_cap / max_replicas, or look for a stuck fleet (infra/README.md, Watch)."
  }
}

# Dead letters: any message on a dead-letter queue needs a person.
resource "google_monitoring_alert_policy" "dead_letters" {
  for_each              = local.modes
  display_name          = "ott ${each.key}: dead letters waiting"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "WARNING"
  conditions {
    display_name = "num_undelivered_messages of ${local.name[each.key].dead_letter_hold}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter_hold[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    content = "Pull them: gcloud pubsub subscriptions pull ${local.name[each.key].dead_letter_hold} --limit 20 (infra/README.md, Errors, dead letters, reset)."
  }
}

# The fleet is at its ceiling and still losing ground: raise the stage, or accept the longer run.
resource "google_monitoring_alert_policy" "at_max_and_growing" {
  for_each              = local.modes
  display_name          = "ott ${each.key}: MIG at max_replicas while the backlog grows"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "WARNING"
  conditions {
    display_name = "backlog growing for 30 min with ${local.name[each.key].subscription}'s MIG at its maximum"
    condition_prometheus_query_language {
      query    = "(deriv(pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource=\"pubsub_subscription\",subscription_id=\"${google_pubsub_subscription.work[each.key].name}\"}[30m]) > 0) and on() (max(compute_googleapis_com:instance_group_size{monitored_resource=\"instance_group\",instance_group_name=\"${google_compute_region_instance_group_manager.worker[each.key].name}\"}) >= ${local.stage_max_replicas[each.key]})"
      duration = "1800s"
    }
  }
  documentation {
    content = "Raise replica_cap (the ramp stage) if CloudFront, GCS and Cloud SQL have room (infra/README.md, Staged ramp)."
  }
}

# A worker unit that stopped for good: exit 78 (bad config) is not restarted (RestartPreventExitStatus).
resource "google_monitoring_alert_policy" "failed_units" {
  display_name          = "ott: a worker unit failed or refused its config (exit 78)"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "CRITICAL"
  conditions {
    display_name = "systemd reports an ott@ unit failed"
    condition_matched_log {
      filter = "resource.type = \"gce_instance\" AND (jsonPayload.UNIT =~ \"^ott@\" OR jsonPayload._SYSTEMD_UNIT =~ \"^ott@\") AND (jsonPayload.MESSAGE =~ \"Failed with result|status=78\" OR jsonPayload.message =~ \"exit 78|refused its config\")"
    }
  }
  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
    auto_close = "86400s"
  }
  documentation {
    content = "Fix the config entity (ott config put), then: gcloud compute instance-groups managed rolling-action restart MIG --region R."
  }
}

# Cloud NAT cannot give a VM more ports: downloads through NAT stall.
resource "google_monitoring_alert_policy" "nat_allocation" {
  display_name          = "ott: Cloud NAT port allocation failed"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "WARNING"
  conditions {
    display_name = "nat_allocation_failed on ${google_compute_router_nat.nat.name}"
    condition_threshold {
      filter          = "resource.type = \"nat_gateway\" AND resource.labels.gateway_name = \"${google_compute_router_nat.nat.name}\" AND metric.type = \"router.googleapis.com/nat/nat_allocation_failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_COUNT_TRUE"
      }
    }
  }
  documentation {
    content = "Raise nat_min_ports_per_vm / nat_max_ports_per_vm, or give the workers external IPs (worker_external_ip)."
  }
}

# Cloud SQL close to max_connections: the next VMs' pools will be refused.
resource "google_monitoring_alert_policy" "sql_connections" {
  display_name          = "ott: Cloud SQL connections above ${var.alert_sql_connections_percent}% of max_connections"
  combiner              = "OR"
  notification_channels = local.alert_channels
  severity              = "WARNING"
  conditions {
    display_name = "connections on ${google_sql_database_instance.state.name}"
    condition_threshold {
      filter          = "resource.type = \"cloudsql_database\" AND resource.labels.database_id = \"${local.sql_database_id}\" AND metric.type = \"cloudsql.googleapis.com/database/network/connections\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(local.sql_max_connections * var.alert_sql_connections_percent / 100)
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    content = "max_connections is computed from max_replicas x worker_processes (sql.tf); more VMs than planned, or leaked pools."
  }
}

# The fleet view: the charts of `ott dashboard`, from the workers' and publishers' Prometheus metrics
# (src/common/metrics.ts), which the Ops Agent on each VM scrapes from 127.0.0.1 (infra/image/ops-agent.yaml),
# queried with PromQL; plus the subscriptions' backlog. test/infra/dashboard.test.ts checks that every metric
# it charts is one the code exports.
resource "google_monitoring_dashboard" "fleet" {
  project        = var.project_id
  dashboard_json = templatefile("${path.module}/dashboard.json", { name_prefix = var.name_prefix })
  depends_on     = [google_project_service.api]
}

resource "google_billing_budget" "project" {
  count           = var.billing_account != "" ? 1 : 0
  billing_account = var.billing_account
  display_name    = "ott ${var.project_id}"
  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }
  amount {
    specified_amount {
      currency_code = "USD"
      units         = tostring(var.budget_usd)
    }
  }
  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }
  all_updates_rule {
    monitoring_notification_channels = local.alert_channels
    disable_default_iam_recipients   = false
  }
  depends_on = [google_project_service.api]
}
