//! Networks: CNI configuration lists, network namespaces, port publishing, DNS.
