// The Peer's time and timers: the Scheduler of src/units/clock.ts, named here because every
// file of the Peer takes it from here (the pipelines and transports below take it from units).
export {
  type Clock,
  every,
  nextTurn,
  realScheduler,
  type Scheduler,
  sleep,
  type TimerHandle,
} from "../units/clock.js";
