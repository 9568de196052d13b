# Secret containers only. Their values are never in this configuration or its state: the operator adds
# versions with `gcloud secrets versions add ... --data-file=-` (infra/README.md, "Secrets").

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
