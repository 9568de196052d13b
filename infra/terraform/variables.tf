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
  description = "Give workers an ephemeral external IP instead of going through Cloud NAT. Cloud NAT bills every GiB it processes (about $0.045/GiB, i.e. ~$46k per PiB); an external IP does not. Ingress stays closed by the VPC firewall either way."
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

variable "sql_max_connections" {
  description = "MySQL max_connections. Each ott process keeps a small pool; size it for max workers x processes x pool size, plus the publishers."
  type        = number
  default     = 2000
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
  description = "How long unacked messages (and dead letters, errors) are kept: up to 7 days (604800s)."
  type        = string
  default     = "604800s"
}

# --- Workers ----------------------------------------------------------------------------------------------
variable "worker_image" {
  description = "Boot image of every VM, built by infra/image/build-image.sh. Empty means the newest image of family ott-worker in this project."
  type        = string
  default     = ""
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
  description = "Autoscaler maximum VMs per worker mode: the cost ceiling. Mind CloudFront's default 150 Gbps / 250k requests/s per distribution and a new GCS bucket's ~1,000 writes/s ramp."
  type        = map(number)
  default = {
    cdnTransfer = 40
    syncCheck   = 10
    rsync       = 10
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
  description = "Extra flags per worker mode, e.g. { cdnTransfer = \"--processes 8\" } (instance metadata ott-args-MODE)."
  type        = map(string)
  default     = {}
}

variable "grace_period_seconds" {
  description = "Config field grace_period_seconds: how long a stopping worker finishes in-flight objects. The VMs get this plus 120 s of graceful shutdown; the systemd unit's TimeoutStopSec (660 = 600 + 60) must be raised with it."
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
