# Every input of the deployment. Only project_id and gcs_bucket have no default; the S3/CloudFront
# fields only feed the ready-to-edit config output (ott_configs) and may be filled in later.

# --- Project and naming -------------------------------------------------------------------------------
variable "project_id" {
  description = "GCP project that holds everything (Pub/Sub, Cloud SQL, Datastore, secrets, VMs)."
  type        = string
}

variable "region" {
  description = "Region for the VPC subnet, Cloud NAT, Cloud SQL and the regional worker MIGs. Pick one near the CloudFront edge that serves it and near the destination bucket."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones the regional MIGs spread over; empty means the first three zones of the region."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, subscriptions, service accounts, VMs). Lowercase letters, digits and hyphens; at most 12 characters so service-account ids stay under 30."
  type        = string
  default     = "ott"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.name_prefix))
    error_message = "The name_prefix must start with a lowercase letter, use only a-z, 0-9 and -, and be at most 12 characters."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (cost attribution)."
  type        = map(string)
  default     = { app = "object-transfer-tool" }
}

variable "enable_apis" {
  description = "Enable the Google APIs this deployment uses (compute, sqladmin, pubsub, ...). Set false when the project's APIs are managed elsewhere."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect Cloud SQL and the Datastore database from terraform destroy. Set false only for the final tear-down (infra/README.md, Tear down)."
  type        = bool
  default     = true
}

# --- Network --------------------------------------------------------------------------------------------
variable "subnet_cidr" {
  description = "Primary range of the workers' subnet."
  type        = string
  default     = "10.40.0.0/20"
}

variable "sql_peering_prefix_length" {
  description = "Prefix length of the range reserved for private services access (Cloud SQL's private IP)."
  type        = number
  default     = 20
}

variable "nat_min_ports_per_vm" {
  description = "Cloud NAT ports reserved per VM. Each worker holds many concurrent HTTPS connections to CloudFront (transfer_concurrency x processes); too few ports shows up as NAT allocation errors and stalled downloads."
  type        = number
  default     = 4096
}

variable "nat_max_ports_per_vm" {
  description = "Upper bound of Cloud NAT dynamic port allocation per VM."
  type        = number
  default     = 65536
}

variable "worker_external_ip" {
  description = "Give the cdnTransfer and rsync workers an ephemeral external IP so the CDN bytes skip Cloud NAT, which bills every GiB it processes (about $0.045/GiB, ~$42k for 1 PB). Ingress stays closed by the firewall. Set false only where an organisation policy (compute.vmExternalIpAccess) forbids external IPs: everything then goes through NAT."
  type        = bool
  default     = true
}

variable "ssh_to_workers" {
  description = "Allow IAP SSH to the worker VMs too (tag ott-ssh). Off by default: their logs and metrics are in Cloud Logging and Monitoring, and only the publisher VM needs a shell."
  type        = bool
  default     = false
}

variable "ssh_source_ranges" {
  description = "Source ranges allowed to reach port 22 on the VMs. The default is Identity-Aware Proxy's range only (gcloud compute ssh --tunnel-through-iap)."
  type        = list(string)
  default     = ["35.235.240.0/20"]
}

# --- Cloud SQL ------------------------------------------------------------------------------------------
variable "sql_tier" {
  description = "Cloud SQL machine tier. The state table has one row per subfolder (millions of rows, small); the load is claims and updates from every worker process."
  type        = string
  default     = "db-custom-4-16384"
}

variable "sql_disk_size_gb" {
  description = "Initial Cloud SQL SSD size in GB (grows automatically)."
  type        = number
  default     = 50
}

variable "sql_availability_type" {
  description = "ZONAL or REGIONAL (high availability: a standby in another zone, twice the price)."
  type        = string
  default     = "ZONAL"
  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.sql_availability_type)
    error_message = "The sql_availability_type must be ZONAL or REGIONAL."
  }
}

variable "publisher_processes" {
  description = "ott processes that may run at once on the publisher VM (publishObjectsList, publishDirList, status, reset, migrate): each holds a MySQL pool, so they count towards max_connections."
  type        = number
  default     = 6
}

variable "sql_connection_headroom" {
  description = "MySQL connections kept free beyond every worker and publisher process's pool: operators, Cloud SQL's own, a surge of replacement VMs during a rollout."
  type        = number
  default     = 100
}

variable "sql_database_name" {
  description = "MySQL database holding the state table (mysql_config.database in the credentials secret)."
  type        = string
  default     = "ott"
}

variable "mysql_table" {
  description = "State table name (config field mysql_table); created by ott migrate."
  type        = string
  default     = "transfer_state"
}

# --- Datastore (config entities) ------------------------------------------------------------------------
variable "create_datastore_database" {
  description = "Create the project's (default) Firestore database in Datastore mode. Set false if the project already has one (import it, or leave it unmanaged)."
  type        = bool
  default     = true
}

variable "datastore_location" {
  description = "Location of the Datastore database, e.g. nam5 or us-central1; empty means the region."
  type        = string
  default     = ""
}

variable "config_kind" {
  description = "Datastore kind of the config entities; each mode reads KIND/MODE (e.g. OttConfig/cdnTransfer)."
  type        = string
  default     = "OttConfig"
}

# --- Source and destination -----------------------------------------------------------------------------
variable "gcs_bucket" {
  description = "Destination GCS bucket. Workers get object access on this bucket only."
  type        = string
}

variable "create_gcs_bucket" {
  description = "Create the destination bucket here (uniform access, public access prevented). False: it exists already and is managed elsewhere."
  type        = bool
  default     = false
}

variable "gcs_bucket_location" {
  description = "Location of the destination bucket when create_gcs_bucket is true; empty means the region."
  type        = string
  default     = ""
}

variable "gcs_root_prefix" {
  description = "Config field gcs_root_prefix: folder in the destination bucket (\"\" or ending in /)."
  type        = string
  default     = ""
}

variable "s3_bucket" {
  description = "Config field s3_bucket: the source S3 bucket (goes into the ott_configs output only)."
  type        = string
  default     = ""
}

variable "s3_root_prefix" {
  description = "Config field s3_root_prefix: folder in the source bucket (\"\" or ending in /)."
  type        = string
  default     = ""
}

variable "aws_region" {
  description = "Config field aws_region: region of the source bucket."
  type        = string
  default     = "us-east-1"
}

variable "cloudfront_url_host_pre" {
  description = "Config field cloudfront_url_host_pre, e.g. https://d111111abcdef8.cloudfront.net/ (ott_configs output only)."
  type        = string
  default     = ""
}

variable "url_signer_key_pair_id" {
  description = "Config field url_signer_key_pair_id: the CloudFront public key id that signs URLs; empty for an unsigned distribution."
  type        = string
  default     = ""
}

# --- Pub/Sub ----------------------------------------------------------------------------------------------
variable "ack_deadline_seconds" {
  description = "Ack deadline of the worker subscriptions, 10-600 s. The client library extends the lease of a message while it is being worked on; this value is how long a message held by a VM that died stays invisible. 600 (the maximum) keeps a slow multi-GiB object from being redelivered while still in flight."
  type        = number
  default     = 600
  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "The ack_deadline_seconds must be between 10 and 600."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of a message before Pub/Sub moves it to the mode's dead-letter topic (5-100)."
  type        = number
  default     = 10
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "The max_delivery_attempts must be between 5 and 100 (a Pub/Sub limit)."
  }
}

variable "retry_minimum_backoff" {
  description = "Retry policy: wait before redelivering a nacked message, at least (duration, e.g. 10s)."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Retry policy: longest wait before a redelivery (at most 600s)."
  type        = string
  default     = "600s"
}

variable "message_retention_duration" {
  description = "How long a subscription keeps unacked messages (work, dead letters, errors). 7 days (604800s) is Pub/Sub's maximum for a subscription and the default here: a message older than that is dropped, so the oldest-unacked alert (alert_oldest_unacked_seconds) fires well before."
  type        = string
  default     = "604800s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.message_retention_duration)) && tonumber(trimsuffix(var.message_retention_duration, "s")) <= 604800
    error_message = "The message_retention_duration must be seconds like \"604800s\", at most 7 days (Pub/Sub's limit for a subscription)."
  }
}

variable "topic_retention_duration" {
  description = "How long the work topics keep every published message, acked or not, up to 31 days (2678400s): a message a subscription dropped after 7 days can still be replayed with `gcloud pubsub subscriptions seek --time`. Costs Pub/Sub storage for the retained bytes (~0.4 TB for 1 PB of objects)."
  type        = string
  default     = "2678400s"
}

# --- Workers ----------------------------------------------------------------------------------------------
variable "worker_image" {
  description = "Name of the boot image of every VM (built by infra/image/build-image.sh, e.g. ott-worker-20261130-1200-1a2b3c4d5e6f). Pin it in production: the templates then name that exact image, a new one rolls out only when this changes, and rollback is setting the previous name. Empty means the newest image of worker_image_family at plan time."
  type        = string
  default     = ""
}

variable "worker_image_by_mode" {
  description = "Per mode (or publisher), an image name overriding worker_image: pilot a new image on one mode first, e.g. { syncCheck = \"ott-worker-20261201-0900-abc\" }."
  type        = map(string)
  default     = {}
}

variable "worker_image_family" {
  description = "Image family searched when worker_image is empty."
  type        = string
  default     = "ott-worker"
}

variable "machine_types" {
  description = "Machine type per worker mode. cdnTransfer is network and CPU (checksums) bound; syncCheck only lists; rsync runs gcloud storage rsync."
  type        = map(string)
  default = {
    cdnTransfer = "e2-standard-16"
    syncCheck   = "e2-standard-4"
    rsync       = "e2-standard-8"
  }
}

variable "boot_disk_size_gb" {
  description = "Boot disk size per worker mode, GB. Objects are streamed, not staged on disk."
  type        = map(number)
  default = {
    cdnTransfer = 30
    syncCheck   = 20
    rsync       = 50
  }
}

variable "min_replicas" {
  description = "Autoscaler minimum VMs per worker mode. 0 lets an idle mode scale to nothing."
  type        = map(number)
  default = {
    cdnTransfer = 0
    syncCheck   = 0
    rsync       = 0
  }
}

variable "max_replicas" {
  description = "Planned maximum VMs per worker mode: the cost ceiling, and what Cloud SQL max_connections and the quota preflight are sized for. Reach it in stages with replica_cap. Mind CloudFront's default 150 Gbps / 250k requests/s per distribution and a new GCS bucket's ~1,000 writes/s ramp."
  type        = map(number)
  default = {
    cdnTransfer = 40
    syncCheck   = 10
    rsync       = 10
  }
}

variable "replica_cap" {
  description = "The current stage of the ramp: caps max_replicas per mode (e.g. { cdnTransfer = 1 } for the pilot, then 4, 8, 16, 40). Empty = no cap. Changing it changes only the autoscalers: Cloud SQL is already sized for max_replicas, so no restart."
  type        = map(number)
  default     = {}
}

variable "worker_processes" {
  description = "ott processes per VM and mode: cdnTransfer --processes (one per ~2 vCPUs leaves room for TLS and checksums); syncCheck and rsync run one. Sizes Cloud SQL max_connections (each process holds a pool) and each process's heap."
  type        = map(number)
  default = {
    cdnTransfer = 8
    syncCheck   = 1
    rsync       = 1
  }
}

variable "metrics_ports" {
  description = "Per mode, the port each worker serves Prometheus metrics on (--metrics-port, on 127.0.0.1) for the Ops Agent to scrape; cdnTransfer's --processes N children use this port and the N-1 above it. 0 turns a mode's metrics off."
  type        = map(number)
  default = {
    cdnTransfer = 9500
    syncCheck   = 9464
    rsync       = 9465
  }
  validation {
    condition     = alltrue([for m, p in var.metrics_ports : p == 0 || (p >= 1024 && p + (m == "cdnTransfer" ? 64 : 0) <= 65535)])
    error_message = "metrics_ports: 0 (off) or a port from 1024 up, with room above it for cdnTransfer's processes."
  }
}

variable "backlog_per_vm" {
  description = "Autoscaling target: undelivered messages on the mode's subscription per VM (single_instance_assignment). A cdnTransfer message holds ~50 object keys; syncCheck and rsync messages hold subfolders."
  type        = map(number)
  default = {
    cdnTransfer = 200
    syncCheck   = 500
    rsync       = 20
  }
}

variable "autoscaler_cooldown_seconds" {
  description = "Seconds a new VM needs before its load counts (boot, Node start, first pull)."
  type        = number
  default     = 180
}

variable "scale_in_max_percent" {
  description = "At most this percentage of a MIG is removed per scale_in_window_seconds, so a briefly empty backlog does not drop the fleet (each removal waits out the grace period)."
  type        = number
  default     = 20
}

variable "scale_in_window_seconds" {
  description = "Window over which scale_in_max_percent applies."
  type        = number
  default     = 900
}

variable "worker_args" {
  description = "Extra flags per worker mode, after --processes (worker_processes), e.g. { syncCheck = \"--deep\" } (instance metadata ott-args-MODE)."
  type        = map(string)
  default     = {}
}

variable "grace_period_seconds" {
  description = "How long a stopping worker finishes in-flight objects: the one source for config field grace_period_seconds (ott_configs output), the unit's TimeoutStopSec (+ 60 s, startup script) and the VM's graceful shutdown (+ 120 s)."
  type        = number
  default     = 600
  validation {
    condition     = var.grace_period_seconds >= 30 && var.grace_period_seconds <= 3480
    error_message = "The grace_period_seconds must be between 30 and 3480: the VMs get it plus 120 s, and graceful shutdown is capped at 3600 s."
  }
}

# --- Publisher VM -----------------------------------------------------------------------------------------
variable "create_publisher_vm" {
  description = "Create the publisher VM (runs migrate, dump, publishObjectsList, publishDirList, status, reset)."
  type        = bool
  default     = true
}

variable "publisher_machine_type" {
  description = "Machine type of the publisher VM. Listing billions of keys is mostly waiting on S3; memory holds one subfolder's listing at a time."
  type        = string
  default     = "e2-standard-8"
}

# --- Cloud Storage ------------------------------------------------------------------------------------------
variable "gcs_soft_delete_retention_days" {
  description = "Soft-delete retention of the destination bucket when create_gcs_bucket is true, in days (0 = off, at most 90). Objects deleted or replaced during rsync repairs are kept and billed this long."
  type        = number
  default     = 7
}

# --- Secrets (write-only: never in the plan or the state) ---------------------------------------------------
variable "credentials_version" {
  description = "Bump to write a new credentials secret version and MySQL password (secrets.tf). 0 = Terraform writes neither: add the secret version yourself."
  type        = number
  default     = 0
}

variable "aws_key_id" {
  description = "Credentials payload aws_key_id, read when credentials_version changes. Ephemeral: pass it as TF_VAR_aws_key_id, never on a command line."
  type        = string
  default     = null
  ephemeral   = true
  validation {
    condition     = var.credentials_version == 0 || try(length(var.aws_key_id) > 0, false)
    error_message = "The credentials_version is set: export TF_VAR_aws_key_id (infra/README.md, Secrets)."
  }
}

variable "aws_key_secret" {
  description = "Credentials payload aws_key_secret (TF_VAR_aws_key_secret). Ephemeral: never in the plan or the state."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
  validation {
    condition     = var.credentials_version == 0 || try(length(var.aws_key_secret) > 0, false)
    error_message = "The credentials_version is set: export TF_VAR_aws_key_secret (infra/README.md, Secrets)."
  }
}

variable "mysql_password" {
  description = "Password of the MySQL user ott, written to Cloud SQL and into the credentials secret when credentials_version changes (TF_VAR_mysql_password, e.g. from openssl rand). Ephemeral."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
  # A user without a password would be created otherwise.
  validation {
    condition     = var.credentials_version == 0 || try(length(var.mysql_password) >= 16, false)
    error_message = "The credentials_version is set: export TF_VAR_mysql_password, at least 16 characters (infra/README.md, Secrets)."
  }
}

variable "cloudfront_key_version" {
  description = "Bump to write a new version of the CloudFront signing key secret from cloudfront_private_key_file. 0 = not managed here."
  type        = number
  default     = 0
}

variable "cloudfront_private_key_file" {
  description = "Path of the CloudFront signing key (PEM) read when cloudfront_key_version changes; its content goes through a write-only argument."
  type        = string
  default     = ""
  validation {
    condition     = var.cloudfront_key_version == 0 || fileexists(var.cloudfront_private_key_file)
    error_message = "The cloudfront_key_version is set: cloudfront_private_key_file must name the PEM file."
  }
}

# --- Alerts and budget --------------------------------------------------------------------------------------
variable "alert_emails" {
  description = "E-mail addresses notified by every alert policy and the budget (monitoring.tf)."
  type        = list(string)
  default     = []
}

variable "alert_oldest_unacked_seconds" {
  description = "Alert when a work subscription's oldest unacked message is older than this: 2 days leaves 5 to act before the 7-day retention drops it."
  type        = number
  default     = 172800
}

variable "alert_sql_connections_percent" {
  description = "Alert when Cloud SQL connections pass this percentage of max_connections."
  type        = number
  default     = 85
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) for the budget; empty = no budget. Creating it needs billing.budgets.create on the account."
  type        = string
  default     = ""
}

variable "budget_usd" {
  description = "Monthly budget of the project in USD; alerts at 50, 90 and 100 % of actual spend and 100 % forecast."
  type        = number
  default     = 60000
}
