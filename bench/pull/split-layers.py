#!/usr/bin/env python3
"""Turns a one-layer OCI archive (make-images.sh's debian.oci.tar) into a multi-layer
OCI image layout for the pull benchmark: the root filesystem is split by top-level
path groups into N layers of similar size (each layer carries the directories its
files need; hardlinks stay in their target's layer), plus one small layer on top.

Usage: split-layers.py ARCHIVE LAYOUT_DIR TAG [N]
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    archive, layout, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    with tarfile.open(archive) as a:
        index = json.load(a.extractfile("index.json"))
        mdesc = index["manifests"][0]
        blob = lambda d: a.extractfile("blobs/sha256/" + d.split(":")[1]).read()
        manifest = json.loads(blob(mdesc["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        assert len(manifest["layers"]) == 1, "expects a one-layer image"
        raw = gzip.decompress(blob(manifest["layers"][0]["digest"]))

    src = tarfile.open(fileobj=io.BytesIO(raw))
    members = src.getmembers()

    def clean(name):
        while name.startswith("./"):
            name = name[2:]
        return name.strip("/")

    def key(name):
        parts = clean(name).split("/")
        return "/".join(parts[:3]) if parts[0] == "usr" else parts[0]

    # Balance path groups over n layers by size (largest first, deterministic).
    sizes = {}
    for m in members:
        if not m.isdir():
            sizes[key(m.name)] = sizes.get(key(m.name), 0) + m.size
    loads = [0] * n
    group = {}
    for k in sorted(sizes, key=lambda k: (-sizes[k], k)):
        i = loads.index(min(loads))
        group[k] = i
        loads[i] += sizes[k]

    dirs = {clean(m.name): m for m in members if m.isdir()}
    outs = [io.BytesIO() for _ in range(n)]
    tars = [tarfile.open(fileobj=o, mode="w", format=tarfile.PAX_FORMAT) for o in outs]
    emitted = [set() for _ in range(n)]
    where = {}

    def ensure_parents(i, name):
        parts = clean(name).split("/")[:-1]
        for j in range(1, len(parts) + 1):
            d = "/".join(parts[:j])
            if d in dirs and d not in emitted[i]:
                tars[i].addfile(dirs[d])
                emitted[i].add(d)

    for m in members:
        name = clean(m.name)
        if m.isdir():
            continue
        if m.islnk():
            i = where.get(clean(m.linkname), group.get(key(m.linkname), 0))
        else:
            i = group.get(key(name), 0)
        where[name] = i
        ensure_parents(i, name)
        tars[i].addfile(m, src.extractfile(m) if m.isfile() else None)
    for d, m in dirs.items():
        if not any(d in e for e in emitted):
            ensure_parents(0, d + "/x")
    for t in tars:
        t.close()
    layers = [o.getvalue() for o in outs]

    top = io.BytesIO()
    with tarfile.open(fileobj=top, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"berth pull benchmark\n"
        ti = tarfile.TarInfo("etc/berth-bench")
        ti.size, ti.mtime, ti.mode = len(data), 1700000000, 0o644
        t.addfile(ti, io.BytesIO(data))
    layers.append(top.getvalue())

    os.makedirs(os.path.join(layout, "blobs/sha256"), exist_ok=True)

    def put(data):
        d = sha(data)
        with open(os.path.join(layout, "blobs/sha256", d.split(":")[1]), "wb") as f:
            f.write(data)
        return d

    descs = []
    for l in layers:
        gz = gzip.compress(l, compresslevel=6, mtime=0)
        descs.append({"mediaType": MT_LAYER_GZ, "digest": put(gz), "size": len(gz)})
    config["rootfs"] = {"type": "layers", "diff_ids": [sha(l) for l in layers]}
    config["history"] = [
        {"created": config.get("created", "2023-11-14T22:13:20Z"), "created_by": f"bench layer {i}"}
        for i in range(len(layers))
    ]
    cfg = canon(config)
    man = canon({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": put(cfg), "size": len(cfg)},
        "layers": descs,
    })
    md = put(man)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(canon({"schemaVersion": 2, "manifests": [{
            "mediaType": MT_MANIFEST, "digest": md, "size": len(man),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    total = sum(len(l) for l in layers)
    print(f"{len(layers)} layers, {total / 1e6:.1f} MB uncompressed, "
          f"{sum(d['size'] for d in descs) / 1e6:.1f} MB compressed, manifest {md}")


if __name__ == "__main__":
    main()
