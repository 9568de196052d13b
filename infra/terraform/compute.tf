# Worker VMs: one instance template, regional MIG and autoscaler per mode, all from the image that
# infra/image/build-image.sh builds; plus the publisher VM.
#
# Stopping a worker (scale-in, template rollout, VM deletion) must not lose the objects in flight:
#   VM graceful shutdown (grace_period_seconds + 120 s)
#     > systemd TimeoutStopSec (grace + 60 s to close pools and flush logs: 660 in infra/systemd, and
#       set from grace_period_seconds by the startup script's drop-in below)
#     > the worker's own grace_period_seconds (config, default 600; keep the two equal).
# Without graceful_shutdown Compute Engine gives the OS about 90 s before powering off. Messages of a
# worker killed anyway are redelivered after the ack deadline: work is never lost, only repeated.

locals {
  # grace_period_seconds (variables.tf) is the one source: the config entity gets it from the
  # ott_configs output, the unit's TimeoutStopSec from the startup script's drop-in, and the VM's graceful
  # shutdown from the template below.
  graceful_shutdown_seconds = var.grace_period_seconds + 120
  stop_timeout_seconds      = var.grace_period_seconds + 60

  # The stage of the ramp (replica_cap) caps max_replicas; min_replicas never exceeds the cap.
  stage_max_replicas = { for mode in keys(local.modes) : mode => min(var.max_replicas[mode], lookup(var.replica_cap, mode, var.max_replicas[mode])) }
  stage_min_replicas = { for mode in keys(local.modes) : mode => min(var.min_replicas[mode], local.stage_max_replicas[mode]) }

  # Flags per mode: --processes from worker_processes (cdnTransfer forks that many workers; the other
  # modes run one), then worker_args.
  worker_flags = { for mode in keys(local.modes) : mode => trimspace("${mode == "cdnTransfer" ? "--processes ${var.worker_processes[mode]}" : ""} ${var.metrics_ports[mode] > 0 ? "--metrics-port ${var.metrics_ports[mode]}" : ""} ${lookup(var.worker_args, mode, "")}") }

  # What the Ops Agent scrapes on a worker VM: each process's metrics port (cdnTransfer's children serve
  # on --metrics-port + their slot), as a YAML flow list; "" when the mode's metrics are off.
  metrics_targets = { for mode in keys(local.modes) : mode => var.metrics_ports[mode] > 0 ? jsonencode([for i in range(mode == "cdnTransfer" ? var.worker_processes[mode] : 1) : "localhost:${var.metrics_ports[mode] + i}"]) : "" }

  startup_script = {
    for mode in keys(local.modes) : mode => <<-EOT
      #!/bin/bash
      # The image carries ott, its launcher and units; this VM runs one mode. The launcher reads
      # ott-gcp-project and ott-config-key-${mode} from the metadata. The drop-in sizes the unit from
      # this deployment: the stop timeout is grace_period_seconds + 60, each process's heap is its share
      # of 80% of the VM's memory (MemoryMax in the unit is 90%); the young generation as the unit holds it.
      set -euo pipefail
      mem_mib=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
      heap_mib=$((mem_mib * 8 / 10 / ${var.worker_processes[mode]}))
      mkdir -p /etc/systemd/system/ott@${mode}.service.d
      printf '[Service]\nTimeoutStopSec=%s\nEnvironment="NODE_OPTIONS=--max-old-space-size=%s --max-semi-space-size=16"\n' ${local.stop_timeout_seconds} "$heap_mib" >/etc/systemd/system/ott@${mode}.service.d/sizing.conf
      systemctl daemon-reload
      systemctl enable --now ott@${mode}.service
      # The Ops Agent's Prometheus receiver (image/ops-agent.yaml) scrapes this mode's processes.
      targets='${local.metrics_targets[mode]}'
      ops_config=/etc/google-cloud-ops-agent/config.yaml
      if [ -n "$targets" ] && [ -f "$ops_config" ]; then
        sed -i "s|^\( *- targets: \).*# ott-metrics-targets\$|\1$targets # ott-metrics-targets|" "$ops_config"
        systemctl restart google-cloud-ops-agent
      fi
    EOT
  }
}

resource "google_compute_region_instance_template" "worker" {
  provider     = google-beta # scheduling.graceful_shutdown
  for_each     = local.modes
  name_prefix  = "${var.name_prefix}-${each.value.slug}-"
  region       = var.region
  machine_type = var.machine_types[each.key]
  tags         = concat(["ott", "ott-${each.value.slug}"], var.ssh_to_workers ? ["ott-ssh"] : [])
  labels       = merge(var.labels, { ott-mode = each.value.slug, ott-image = data.google_compute_image.ott[each.key].name })

  disk {
    # The exact image (self link), never a family URL: a new image is a new template and a rollout.
    source_image = data.google_compute_image.ott[each.key].self_link
    boot         = true
    auto_delete  = true
    disk_type    = "pd-balanced"
    disk_size_gb = var.boot_disk_size_gb[each.key]
  }

  network_interface {
    subnetwork = google_compute_subnetwork.workers.id
    # An ephemeral external IP for the modes that carry CDN bytes (network.tf): no NAT charge per GiB.
    # Nothing can connect in: the firewall allows no ingress but IAP SSH to VMs tagged ott-ssh.
    dynamic "access_config" {
      for_each = var.worker_external_ip && each.value.external_ip ? [1] : []
      content {
        network_tier = "PREMIUM"
      }
    }
  }

  service_account {
    email  = google_service_account.worker[each.key].email
    scopes = ["cloud-platform"] # access is decided by the service account's IAM roles (iam.tf)
  }

  metadata = {
    "ott-gcp-project"            = var.project_id
    "ott-config-key-${each.key}" = local.name[each.key].config_key
    "ott-args-${each.key}"       = local.worker_flags[each.key]
    "enable-oslogin"             = "TRUE"
    "startup-script"             = local.startup_script[each.key]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
    graceful_shutdown {
      enabled = true
      max_duration {
        seconds = local.graceful_shutdown_seconds
      }
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_region_instance_group_manager" "worker" {
  for_each                  = local.modes
  name                      = "${var.name_prefix}-${each.value.slug}"
  base_instance_name        = "${var.name_prefix}-${each.value.slug}"
  region                    = var.region
  distribution_policy_zones = local.zones
  wait_for_instances        = false
  # No target_size: the autoscaler owns the size.

  version {
    name              = "primary"
    instance_template = google_compute_region_instance_template.worker[each.key].id
  }

  # A new template (a new image or setting) rolls out at apply: a new VM comes up first (surge), then an
  # old one is stopped through its graceful shutdown, finishing its in-flight objects; never fewer VMs
  # than before. Pilot a new image on one mode (worker_image_by_mode), then all; roll back by pinning the
  # previous image name (infra/README.md, "Roll out a new version"). No redistribution across zones:
  # it would delete busy workers to rebalance.
  update_policy {
    type                           = "PROACTIVE"
    minimal_action                 = "REPLACE"
    most_disruptive_allowed_action = "REPLACE"
    replacement_method             = "SUBSTITUTE"
    instance_redistribution_type   = "NONE"
    max_surge_fixed                = length(local.zones)
    max_unavailable_fixed          = 0
  }
}

resource "google_compute_region_autoscaler" "worker" {
  for_each = local.modes
  name     = "${var.name_prefix}-${each.value.slug}"
  region   = var.region
  target   = google_compute_region_instance_group_manager.worker[each.key].id

  autoscaling_policy {
    mode            = "ON"
    min_replicas    = local.stage_min_replicas[each.key]
    max_replicas    = local.stage_max_replicas[each.key]
    cooldown_period = var.autoscaler_cooldown_seconds

    # Scale on the backlog of this mode's subscription: one VM per backlog_per_vm undelivered messages.
    # A per-group metric (single_instance_assignment) is what lets a MIG scale to and from zero.
    metric {
      name                       = "pubsub.googleapis.com/subscription/num_undelivered_messages"
      filter                     = "resource.type = pubsub_subscription AND resource.labels.subscription_id = \"${google_pubsub_subscription.work[each.key].name}\""
      single_instance_assignment = var.backlog_per_vm[each.key]
    }

    scale_in_control {
      time_window_sec = var.scale_in_window_seconds
      max_scaled_in_replicas {
        percent = var.scale_in_max_percent
      }
    }
  }
}

# The publisher: one VM the operator logs into (gcloud compute ssh --tunnel-through-iap) to run
# migrate, dump, the publishers, status and reset. Same image; no unit is enabled on it.
resource "google_compute_instance" "publisher" {
  count                     = var.create_publisher_vm ? 1 : 0
  name                      = "${var.name_prefix}-publisher"
  zone                      = local.zones[0]
  machine_type              = var.publisher_machine_type
  tags                      = ["ott", "ott-publisher", "ott-ssh"]
  labels                    = merge(var.labels, { ott-mode = "publisher" })
  allow_stopping_for_update = true

  boot_disk {
    initialize_params {
      image = data.google_compute_image.ott["publisher"].self_link
      size  = 50
      type  = "pd-balanced"
    }
  }

  # No external IP: its S3 listing goes through Cloud NAT (small), SSH through IAP.
  network_interface {
    subnetwork = google_compute_subnetwork.workers.id
  }

  service_account {
    email  = google_service_account.publisher.email
    scopes = ["cloud-platform"]
  }

  metadata = {
    "ott-gcp-project" = var.project_id
    "enable-oslogin"  = "TRUE"
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }
}
