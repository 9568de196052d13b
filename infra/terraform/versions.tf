terraform {
  required_version = ">= 1.5.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.20.0, < 8.0.0"
    }
    # Only for the instance templates' graceful_shutdown (a beta field): it gives a deleted or
    # scaled-in worker time to finish its in-flight objects instead of the default ~90 s.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.20.0, < 8.0.0"
    }
  }
  # State holds resource ids only: no secret value is ever created by this configuration (see
  # secrets.tf). Keep it in a versioned bucket, e.g.:
  #   terraform init -backend-config="bucket=my-tf-state" -backend-config="prefix=ott"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
