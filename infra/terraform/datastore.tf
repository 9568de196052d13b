# Firestore in Datastore mode: holds one config entity per mode (KIND/MODE), written by `ott config put`.
# A project has one (default) database; an existing one is left alone (create_datastore_database=false).

resource "google_firestore_database" "config" {
  count       = var.create_datastore_database ? 1 : 0
  project     = var.project_id
  name        = "(default)"
  location_id = var.datastore_location != "" ? var.datastore_location : var.region
  type        = "DATASTORE_MODE"
  # Deleting the (default) database is irreversible for a while; terraform destroy only forgets it
  # unless deletion_protection is off.
  deletion_policy         = var.deletion_protection ? "ABANDON" : "DELETE"
  delete_protection_state = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  depends_on              = [google_project_service.api]
}
