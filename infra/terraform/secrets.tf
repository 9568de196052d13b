# Secret Manager: the credentials JSON (the reference design's payload: AWS keys and mysql_config) and the
# CloudFront signing key. Their values reach Google only through write-only arguments (Terraform >= 1.11,
# provider >= 6.2x): sent on apply when the *_version variable changes, never written to the plan or the
# state, never on a command line. The inputs are ephemeral variables (TF_VAR_... in the environment) or
# a file path. With the versions at 0, Terraform only creates the containers and the operator adds
# versions by hand (infra/README.md, "Secrets").

resource "google_secret_manager_secret" "credentials" {
  secret_id = "${var.name_prefix}-credentials"
  labels    = var.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}

resource "google_secret_manager_secret" "cloudfront_key" {
  secret_id = "${var.name_prefix}-cloudfront-key"
  labels    = var.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}

resource "google_secret_manager_secret_version" "credentials" {
  count  = var.credentials_version > 0 ? 1 : 0
  secret = google_secret_manager_secret.credentials.id
  secret_data_wo = jsonencode({
    aws_key_id     = var.aws_key_id
    aws_key_secret = var.aws_key_secret
    mysql_config = {
      host         = google_sql_database_instance.state.private_ip_address
      port         = 3306
      user         = "ott"
      password     = var.mysql_password
      database     = google_sql_database.ott.name
      # The instance takes encrypted connections only (sql.tf): verified against its own server CA. A
      # per-instance CA signs only this instance's certificates, which name no IP: the CA check alone
      # identifies it (README "MySQL over TLS"). After a server CA rotation, write a new version.
      ssl_disabled        = false
      ssl_ca              = google_sql_database_instance.state.server_ca_cert[0].cert
      ssl_verify_identity = false
    }
  })
  secret_data_wo_version = var.credentials_version
  # The MySQL user gets the same password in this apply; workers read `latest` when they start.
  depends_on = [google_sql_user.ott]
}

resource "google_secret_manager_secret_version" "cloudfront_key" {
  count                  = var.cloudfront_key_version > 0 ? 1 : 0
  secret                 = google_secret_manager_secret.cloudfront_key.id
  secret_data_wo         = file(var.cloudfront_private_key_file)
  secret_data_wo_version = var.cloudfront_key_version
}
