//! Cgroups v1, v2 and hybrid hosts: create, limit, freeze, stats, destroy.
