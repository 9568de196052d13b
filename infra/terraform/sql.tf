# Cloud SQL for MySQL 8 holding the state table, reachable on a private IP inside the VPC only.
#
# No MySQL user or password is created here: a google_sql_user with a password would put the password
# in the Terraform state. The runbook (infra/README.md, "Secrets") creates the user with gcloud and
# writes the password straight into the credentials secret.

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
      # Encrypted connections only: the workers set mysql_config.ssl_disabled false and verify the
      # server against this instance's server CA (ssl_ca; the runbook, infra/README.md section 4).
      ssl_mode = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled            = true
      binary_log_enabled = true
      start_time         = "03:00"
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.sql_max_connections)
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
