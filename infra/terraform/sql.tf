# Cloud SQL for MySQL 8 holding the state table, reachable on a private IP inside the VPC only.
#
# max_connections is computed from the fleet, not guessed: every ott process holds one mysql2 pool of
# mysql_pool_per_process connections (src/common/db.ts, connectionLimit; a test keeps the two equal), so
# the peak is max_replicas x worker_processes per mode, plus the publisher's processes, plus headroom.
# It is sized for max_replicas (the planned ceiling), not the current stage (replica_cap): changing a
# database flag may restart the instance, so the ramp must not touch it.

locals {
  mysql_pool_per_process = 8
  sql_max_connections = (
    sum([for mode in keys(local.modes) : var.max_replicas[mode] * var.worker_processes[mode]]) * local.mysql_pool_per_process
    + var.publisher_processes * local.mysql_pool_per_process
    + var.sql_connection_headroom
  )
}

resource "google_sql_database_instance" "state" {
  name                = "${var.name_prefix}-state"
  database_version    = "MYSQL_8_0"
  region              = var.region
  deletion_protection = var.deletion_protection
  depends_on          = [google_service_networking_connection.sql]

  settings {
    tier              = var.sql_tier
    edition           = "ENTERPRISE"
    availability_type = var.sql_availability_type
    disk_type         = "PD_SSD"
    disk_size         = var.sql_disk_size_gb
    disk_autoresize   = true
    user_labels       = var.labels

    ip_configuration {
      # Private IP only: no public address, reachable from the VPC (workers, publisher) alone.
      ipv4_enabled                                  = false
      private_network                               = google_compute_network.vpc.id
      enable_private_path_for_google_cloud_services = true
      # Encrypted connections only: the credentials secret (secrets.tf) sets mysql_config.ssl_disabled
      # false and ssl_ca to this instance's server CA, which the workers verify the server against.
      ssl_mode = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled            = true
      binary_log_enabled = true
      start_time         = "03:00"
    }

    database_flags {
      name  = "max_connections"
      value = tostring(local.sql_max_connections)
    }

    insights_config {
      query_insights_enabled = true
    }

    maintenance_window {
      day  = 7
      hour = 4
    }
  }
}

resource "google_sql_database" "ott" {
  name      = var.sql_database_name
  instance  = google_sql_database_instance.state.name
  charset   = "utf8mb4"
  collation = "utf8mb4_bin"
}

# The state table's user. Its password goes through a write-only argument: Terraform sends it to Cloud SQL
# when credentials_version changes and stores neither it nor a hash (secrets.tf writes the same value
# into the credentials secret in the same apply).
resource "google_sql_user" "ott" {
  count               = var.credentials_version > 0 ? 1 : 0
  name                = "ott"
  host                = "%"
  instance            = google_sql_database_instance.state.name
  password_wo         = var.mysql_password
  password_wo_version = var.credentials_version
}
