# A VPC of our own: one subnet, no ingress but SSH through IAP, egress through Cloud NAT (workers fetch
# from CloudFront on the internet) and Private Google Access (GCS, Pub/Sub, Datastore and Secret Manager
# traffic stays on Google's network and never pays Cloud NAT's per-GiB processing).

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
  source_ranges = var.ssh_source_ranges
  target_tags   = ["ott"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
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
}
