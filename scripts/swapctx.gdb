# gdb helpers for swapctx (docs/debugging.md).
#
#   swapctx-bt SAVED_SP           (x86_64)
#   swapctx-bt-aarch64 SAVED_SP   (aarch64)
#   swapctx-bt-riscv64 SAVED_SP   (riscv64)
#   swapctx-bt-powerpc64 SAVED_SP (powerpc64, ELFv2)
#   swapctx-bt-s390x SAVED_SP     (s390x)
#   swapctx-bt-x86 SAVED_SP       (x86, i386)
#   swapctx-bt-arm SAVED_SP       (arm, armv7)
#
# Prints the backtrace of a *suspended* coroutine, given the stack pointer it
# saved when it suspended (Coroutine::saved_stack_pointer(), or the `this`
# slot at the top of its stack: `p *co.inner.slots`). It points the
# registers at the coroutine's saved state for the `bt`, then puts them
# back, so the program can go on.
#
# The saved state (CO_OFF_* and CO_FRAME_SIZE in src/arch/<arch>/layout.rs;
# src/arch/coroutine_tests.rs checks the commands below against them):
#   x86_64:  [sp] resume address, [sp+8] rbx, [sp+16] rbp; rsp there = sp+24
#   aarch64: [sp] resume address, [sp+16] x29, [sp+24] x19; sp there = sp+32
#   riscv64: [sp] resume address, [sp+16] s0, [sp+24] s1; sp there = sp+32
#   powerpc64: [sp+16] resume address, [sp+24] r2, [sp+32] r30, [sp+40] r31;
#              r1 there = sp+64
#   s390x:   [sp+112] resume address, [sp+88] r11; r15 there = sp+160
#   x86:     [sp] resume address, [sp+4] esi, [sp+8] ebp; esp there = sp+12
#   arm:     [sp] resume address, [sp+4] r6, [sp+8] r7, [sp+12] r11; sp there = sp+16

define swapctx-bt
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $rsp
  set $__swapctx_bp = $rbp
  set $__swapctx_bx = $rbx
  set $rbx = *(unsigned long *) ($__swapctx_s + 8)
  set $rbp = *(unsigned long *) ($__swapctx_s + 16)
  set $rsp = $__swapctx_s + 24
  set $pc = *(unsigned long *) $__swapctx_s
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $rsp = $__swapctx_sp
  set $rbp = $__swapctx_bp
  set $rbx = $__swapctx_bx
end
document swapctx-bt
Backtrace of a suspended swapctx coroutine (x86_64): swapctx-bt SAVED_SP
end

define swapctx-bt-aarch64
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $sp
  set $__swapctx_fp = $x29
  set $__swapctx_19 = $x19
  set $x29 = *(unsigned long *) ($__swapctx_s + 16)
  set $x19 = *(unsigned long *) ($__swapctx_s + 24)
  set $sp = $__swapctx_s + 32
  set $pc = *(unsigned long *) $__swapctx_s
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $sp = $__swapctx_sp
  set $x29 = $__swapctx_fp
  set $x19 = $__swapctx_19
end
document swapctx-bt-aarch64
Backtrace of a suspended swapctx coroutine (aarch64): swapctx-bt-aarch64 SAVED_SP
end

define swapctx-bt-riscv64
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $sp
  set $__swapctx_s0 = $s0
  set $__swapctx_s1 = $s1
  set $s0 = *(unsigned long *) ($__swapctx_s + 16)
  set $s1 = *(unsigned long *) ($__swapctx_s + 24)
  set $sp = $__swapctx_s + 32
  set $pc = *(unsigned long *) $__swapctx_s
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $sp = $__swapctx_sp
  set $s0 = $__swapctx_s0
  set $s1 = $__swapctx_s1
end
document swapctx-bt-riscv64
Backtrace of a suspended swapctx coroutine (riscv64): swapctx-bt-riscv64 SAVED_SP
end

define swapctx-bt-powerpc64
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $r1
  set $__swapctx_2 = $r2
  set $__swapctx_30 = $r30
  set $__swapctx_31 = $r31
  set $r2 = *(unsigned long *) ($__swapctx_s + 24)
  set $r30 = *(unsigned long *) ($__swapctx_s + 32)
  set $r31 = *(unsigned long *) ($__swapctx_s + 40)
  set $r1 = $__swapctx_s + 64
  set $pc = *(unsigned long *) ($__swapctx_s + 16)
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $r1 = $__swapctx_sp
  set $r2 = $__swapctx_2
  set $r30 = $__swapctx_30
  set $r31 = $__swapctx_31
end
document swapctx-bt-powerpc64
Backtrace of a suspended swapctx coroutine (powerpc64): swapctx-bt-powerpc64 SAVED_SP
end

define swapctx-bt-s390x
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $r15
  set $__swapctx_11 = $r11
  set $r11 = *(unsigned long *) ($__swapctx_s + 88)
  set $r15 = $__swapctx_s + 160
  set $pc = *(unsigned long *) ($__swapctx_s + 112)
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $r15 = $__swapctx_sp
  set $r11 = $__swapctx_11
end
document swapctx-bt-s390x
Backtrace of a suspended swapctx coroutine (s390x): swapctx-bt-s390x SAVED_SP
end

define swapctx-bt-x86
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $esp
  set $__swapctx_si = $esi
  set $__swapctx_bp = $ebp
  set $esi = *(unsigned long *) ($__swapctx_s + 4)
  set $ebp = *(unsigned long *) ($__swapctx_s + 8)
  set $esp = $__swapctx_s + 12
  set $pc = *(unsigned long *) $__swapctx_s
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $esp = $__swapctx_sp
  set $esi = $__swapctx_si
  set $ebp = $__swapctx_bp
end
document swapctx-bt-x86
Backtrace of a suspended swapctx coroutine (x86, i386): swapctx-bt-x86 SAVED_SP
end

define swapctx-bt-arm
  set language c
  set $__swapctx_s = (unsigned long) ($arg0)
  set $__swapctx_pc = $pc
  set $__swapctx_sp = $sp
  set $__swapctx_r6 = $r6
  set $__swapctx_r7 = $r7
  set $__swapctx_r11 = $r11
  set $r6 = *(unsigned long *) ($__swapctx_s + 4)
  set $r7 = *(unsigned long *) ($__swapctx_s + 8)
  set $r11 = *(unsigned long *) ($__swapctx_s + 12)
  set $sp = $__swapctx_s + 16
  set $pc = *(unsigned long *) $__swapctx_s
  set language auto
  bt
  set $pc = $__swapctx_pc
  set $sp = $__swapctx_sp
  set $r6 = $__swapctx_r6
  set $r7 = $__swapctx_r7
  set $r11 = $__swapctx_r11
end
document swapctx-bt-arm
Backtrace of a suspended swapctx coroutine (arm, armv7): swapctx-bt-arm SAVED_SP
end
