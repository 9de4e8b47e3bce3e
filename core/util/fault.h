#pragma once
// Named points where a test can make this process die, to prove that nothing is lost or
// left inconsistent when a process is killed at the worst moment (inside a transaction, just
// after a commit). Off unless the environment asks for it:
//
//   PTQ_FAULT_KILL=NAME[:N]   raise SIGKILL at the N-th time (default 1) the point NAME is
//                              passed in this process
//
// Points: store.claim.before_commit, store.claim.after_commit, store.complete.before_commit,
// store.complete.after_commit, sweep.run.computed (results in memory, not yet stored).

namespace ptq {

void faultPoint(const char* name);

} // namespace ptq
