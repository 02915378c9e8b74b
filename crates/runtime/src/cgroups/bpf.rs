//! Device rules on cgroup2: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the
//! rules, loaded and attached with raw bpf(2) (no loader library needed for a
//! straight-line filter of a few dozen instructions).
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! with access_type = (access << 16) | type. Rules are checked last to first and the
//! first match decides, which is the "later rule wins" reading of the spec's list.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::devices::{self, Rule, ACC_MKNOD, ACC_READ, ACC_WRITE};
use super::error::CgroupError;

/// One eBPF instruction as the kernel takes it (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct BpfInsn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcode pieces from linux/bpf.h and linux/bpf_common.h.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JMP32_JNE_K: u8 = 0x56; // BPF_JMP32 | BPF_JNE | BPF_K
const JMP32_JEQ_K: u8 = 0x16; // BPF_JMP32 | BPF_JEQ | BPF_K
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

const DEV_BLOCK: i32 = 1; // BPF_DEVCG_DEV_BLOCK
const DEV_CHAR: i32 = 2; // BPF_DEVCG_DEV_CHAR
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: (dst & 0x0f) | (src << 4),
        off,
        imm,
    }
}

/// The program for exactly these spec rules (no defaults added), after an implicit
/// "deny all". Errors name the offending linux.resources.devices entry.
pub fn device_program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<BpfInsn>, CgroupError> {
    Ok(program(&devices::normalize(rules)?))
}

pub(crate) fn program(rules: &[Rule]) -> Vec<BpfInsn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),        // r2 = access_type
        insn(ALU32_AND_K, 2, 0, 0, 0xffff), // r2 = type
        insn(LDX_MEM_W, 3, 1, 0, 0),        // r3 = access_type
        insn(ALU32_RSH_K, 3, 0, 0, 16),     // r3 = access
        insn(LDX_MEM_W, 4, 1, 4, 0),        // r4 = major
        insn(LDX_MEM_W, 5, 1, 8, 0),        // r5 = minor
    ];
    for r in rules.iter().rev() {
        // Conditions; each jumps past the block when it does not hold.
        let mut conds: Vec<BpfInsn> = Vec::new();
        let mut jumps: Vec<usize> = Vec::new();
        if r.typ != 'a' {
            let t = if r.typ == 'b' { DEV_BLOCK } else { DEV_CHAR };
            jumps.push(conds.len());
            conds.push(insn(JMP32_JNE_K, 2, 0, 0, t));
            if r.access != ACC_ALL {
                conds.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
                if r.allow {
                    // Allow only if every requested bit is granted.
                    conds.push(insn(ALU32_AND_K, 1, 0, 0, (!r.access & ACC_ALL) as i32));
                    jumps.push(conds.len());
                    conds.push(insn(JMP32_JNE_K, 1, 0, 0, 0));
                } else {
                    // Deny if any requested bit is denied.
                    conds.push(insn(ALU32_AND_K, 1, 0, 0, r.access as i32));
                    jumps.push(conds.len());
                    conds.push(insn(JMP32_JEQ_K, 1, 0, 0, 0));
                }
            }
            if let Some(m) = r.major {
                jumps.push(conds.len());
                conds.push(insn(JMP32_JNE_K, 4, 0, 0, m as i32));
            }
            if let Some(m) = r.minor {
                jumps.push(conds.len());
                conds.push(insn(JMP32_JNE_K, 5, 0, 0, m as i32));
            }
        }
        let len = conds.len() + 2;
        for j in jumps {
            conds[j].off = (len - j - 1) as i16;
        }
        p.extend(conds);
        p.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(r.allow)));
        p.push(insn(JMP_EXIT, 0, 0, 0, 0));
        if r.typ == 'a' {
            // Matches everything: earlier rules can never decide.
            return p;
        }
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with one of the attr structs above.
fn sys_bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialized #[repr(C)] prefix of union bpf_attr and we
    // pass its exact size; the kernel zero-extends the rest and writes at most `size`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Takes ownership of an fd the kernel just returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` is a fresh descriptor returned by bpf(2) that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Loads a cgroup device program into the kernel; on rejection the verifier's log
/// is part of the error.
pub fn load_device_program(prog: &[BpfInsn]) -> Result<OwnedFd, CgroupError> {
    let license = b"Apache-2.0\0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    attr.prog_name[..10].copy_from_slice(b"berth_dev\0");
    match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned(fd)),
        Err(e)
            if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EINVAL) =>
        {
            // Load again with the verifier log to say why.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let again = sys_bpf(BPF_PROG_LOAD, &mut attr);
            let text =
                String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(0)])
                    .into_owned();
            if let Ok(fd) = again {
                return Ok(owned(fd));
            }
            Err(CgroupError::Bpf {
                op: "loading the device filter",
                source: io::Error::new(e.kind(), format!("{e}; verifier: {}", text.trim())),
            })
        }
        Err(e) => Err(CgroupError::Bpf {
            op: "loading the device filter",
            source: e,
        }),
    }
}

/// Ids of the device programs attached to the cgroup (directly, not inherited).
fn attached(cgroup: &OwnedFd) -> Result<Vec<u32>, CgroupError> {
    let mut ids = vec![0u32; 64];
    let mut q = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    sys_bpf(BPF_PROG_QUERY, &mut q).map_err(|source| CgroupError::Bpf {
        op: "querying attached device filters",
        source,
    })?;
    ids.truncate(q.prog_cnt as usize);
    Ok(ids)
}

/// Builds, loads and attaches the filter for `rules`, then detaches the filters that
/// were there before (both apply during the swap, so access only narrows meanwhile).
pub(crate) fn install_device_filter(dir: &Path, rules: &[Rule]) -> Result<(), CgroupError> {
    let prog = load_device_program(&program(rules))?;
    let cg = std::fs::File::open(dir)
        .map(OwnedFd::from)
        .map_err(|e| CgroupError::io("opening", dir, e))?;
    let old = attached(&cg)?;
    let mut a = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    sys_bpf(BPF_PROG_ATTACH, &mut a).map_err(|source| CgroupError::Bpf {
        op: "attaching the device filter",
        source,
    })?;
    for id in old {
        let mut g = GetFdByIdAttr {
            prog_id: id,
            ..Default::default()
        };
        let Ok(fd) = sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut g).map(owned) else {
            continue; // already gone
        };
        let mut d = AttachAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        sys_bpf(BPF_PROG_DETACH, &mut d).map_err(|source| CgroupError::Bpf {
            op: "detaching the previous device filter",
            source,
        })?;
    }
    Ok(())
}
