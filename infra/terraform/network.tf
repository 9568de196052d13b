# A VPC of our own: one subnet, no ingress but SSH through IAP to the VMs that need it, and three egress
# paths priced differently:
#   - Google APIs (GCS, Pub/Sub, Datastore, Secret Manager) stay on Google's network and are not billed
#     as egress: through Private Google Access for VMs without an external IP, directly for the others;
#   - an external IP on the cdnTransfer and rsync workers (worker_external_ip, the default): the CDN bytes
#     from CloudFront arrive as plain internet ingress, which Google does not bill;
#   - Cloud NAT for everything else (the publisher listing S3, syncCheck, and all workers when an
#     organisation policy forbids external IPs: worker_external_ip = false). NAT bills every GiB it
#     processes (~$0.045/GiB): for 1 PB through NAT that is ~$42,000, more than the CDN saves.
# Ingress is closed either way: the only allow rule is IAP's range on port 22 to VMs tagged ott-ssh, and
# an explicit deny-all below it (the VPC's implied deny, made visible and logged).

resource "google_compute_network" "vpc" {
  name                    = "${var.name_prefix}-vpc"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.api]
}

resource "google_compute_subnetwork" "workers" {
  name                     = "${var.name_prefix}-workers"
  network                  = google_compute_network.vpc.id
  region                   = var.region
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true
}

resource "google_compute_router" "nat" {
  name    = "${var.name_prefix}-router"
  network = google_compute_network.vpc.id
  region  = var.region
}

# Applies only to VMs without an external IP (Cloud NAT never handles a VM's traffic when its interface
# has an external address).
resource "google_compute_router_nat" "nat" {
  name                               = "${var.name_prefix}-nat"
  router                             = google_compute_router.nat.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
  # Thousands of parallel downloads per VM: dynamic allocation grows a VM's ports as it needs them.
  enable_dynamic_port_allocation      = true
  enable_endpoint_independent_mapping = false
  min_ports_per_vm                    = var.nat_min_ports_per_vm
  max_ports_per_vm                    = var.nat_max_ports_per_vm
  tcp_time_wait_timeout_sec           = 30

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

resource "google_compute_firewall" "ssh_iap" {
  name          = "${var.name_prefix}-allow-ssh-iap"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 1000
  source_ranges = var.ssh_source_ranges
  # The publisher always; workers only with ssh_to_workers = true (their logs are in Cloud Logging).
  target_tags = ["ott-ssh"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_firewall" "deny_ingress" {
  name          = "${var.name_prefix}-deny-ingress"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 65000
  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "EXCLUDE_ALL_METADATA"
  }
}

# Private services access: the peering that gives Cloud SQL an address inside this VPC.
resource "google_compute_global_address" "sql_peering" {
  name          = "${var.name_prefix}-sql-peering"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.sql_peering_prefix_length
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "sql" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.sql_peering.name]
  # Deleting the peering fails while the service producer still holds the range (Cloud SQL releases it
  # some time after the instance is gone), which used to fail `terraform destroy`. ABANDON removes it
  # from the state only; deleting the VPC then removes the peering with it.
  deletion_policy = "ABANDON"
}
