terraform {
  # 1.11: write-only arguments (secret_data_wo, password_wo in secrets.tf) keep the credentials out of the
  # plan and the state.
  required_version = ">= 1.11.0"
  required_providers {
    # The lower bound is the version whose schema test/infra/terraform-schema.test.ts checks every argument
    # against, and the version .terraform.lock.hcl selects (hashes committed; `terraform init` verifies
    # the downloaded provider against them). 7.x renames and removes arguments: move deliberately.
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50.0, < 7.0.0"
    }
    # For the beta-only fields: the instance templates' scheduling.graceful_shutdown (a deleted or scaled-in
    # worker gets time to finish its in-flight objects instead of ~90 s) and google_project_service_identity
    # (the Pub/Sub service agent exists before it is granted the dead-letter roles).
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.50.0, < 7.0.0"
    }
  }
  # State holds resource ids only: secret values go through write-only arguments, which are never stored
  # (see secrets.tf). Keep it in a versioned bucket, e.g.:
  #   terraform init -backend-config="bucket=my-tf-state" -backend-config="prefix=ott"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
  # The billing budget API needs a quota project when Terraform runs with user credentials.
  billing_project       = var.project_id
  user_project_override = true
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
