# frozen_string_literal: true

require 'net/http'
require 'rbconfig'
require 'socket'

module AgoraDriver
  # The OS side of nodes: spawn a node's process on a free loopback port with its size's memory
  # limit and its output appended to its log, health-check it, stop it with SIGTERM then
  # SIGKILL, and notice its exit: at once for a child, by polling for a process adopted from a
  # driver before this one. Every method is called, and every callback runs, under `lock`.
  class Processes
    HOST = '127.0.0.1'
    HTTP_NODE = File.expand_path('../../http_node.rb', __dir__)
    # Between health probes of a starting process.
    PROBE_EVERY_S = 0.05
    PROBE_TIMEOUT_S = 1.0

    # config: { allow_command:, stop_grace_ms:, health_timeout_ms: }. on_exit.call(node, status)
    # runs under the lock when the process of the node's current run ends (status nil: unknown,
    # the process was adopted); on_change.call(node) when the node turns ACTIVE.
    def initialize(lock:, config:, log:, store:, on_exit:, on_change:)
      @lock = lock
      @config = config
      @log = log
      @store = store
      @on_exit = on_exit
      @on_change = on_change
    end

    # Start the node's process (state BUILDING), or put the node in ERROR when it cannot start.
    def launch(node)
      node.run += 1
      node.kill_reason = nil
      node.reason = ''
      node.state = BUILDING
      port = free_port
      pid = @store.open_log(node.id) { |log| spawn(node, port, log) }
      node.pid = pid
      node.start = StateDir.process_start(pid).to_s
      node.port = port
      node.host = HOST
      watch(node, node.run, pid)
    rescue SystemCallError, IOError => e
      node.state = ERROR
      node.reason = "could not start its process: #{e.message}"
      @log.warn('node did not start', node: node.id, err: AgoraBus.err_fields(e))
    end

    # Watch again the process of a node adopted from an earlier driver, whose process still
    # runs: a starting one is health-checked, one being stopped or deleted is signalled again.
    def adopt(node)
      node.adopted = true
      case node.state
      when BUILDING then Thread.new { health_check(node, node.run, node.port, node.image) }
      when STOPPING, DELETING then terminate(node)
      end
    end

    # An adopted process that has ended is reported (no wait status comes for it); a long log is cut.
    def poll(node)
      return unless node.process?
      return @on_exit.call(node, nil) if node.adopted && !StateDir.same_process?(node.pid, node.start)

      @store.trim_log(node.id)
    end

    # SIGTERM to the node's process group, SIGKILL after the grace period if it is still there.
    def terminate(node)
      return unless node.process?

      signal_group(node.pid, node.start, 'TERM')
      run = node.run
      pid = node.pid
      Thread.new do
        sleep(@config[:stop_grace_ms] / 1000.0)
        @lock.synchronize { signal_group(pid, node.start, 'KILL') if node.run == run && node.pid == pid }
      end
    end

    # At shutdown: SIGTERM to every process, SIGKILL to those left after the grace period.
    def stop_all(nodes)
      procs = nodes.select(&:process?).map { |node| [node.pid, node.start] }
      procs.each { |pid, start| signal_group(pid, start, 'TERM') }
      deadline = AgoraBus.monotonic + @config[:stop_grace_ms] / 1000.0
      procs.each do |pid, start|
        sleep(0.02) while StateDir.same_process?(pid, start) && AgoraBus.monotonic < deadline
        signal_group(pid, start, 'KILL')
      end
    end

    private

    # The node's own process group (pgroup: true): `/bin/sh -c` children are signalled with it,
    # and it does not share the driver's, so it outlives a driver that is killed. Its size's
    # memory is its data segment limit (RLIMIT_DATA).
    def spawn(node, port, log)
      Process.spawn(node_env(node, port), *argv(node), unsetenv_others: true, pgroup: true, in: File::NULL,
                                                       %i[out err] => log, close_others: true,
                                                       rlimit_data: SIZES.fetch(node.size) * 1024 * 1024)
    end

    def argv(node)
      node.image == 'http' ? [RbConfig.ruby, HTTP_NODE] : ['/bin/sh', '-c', node.command]
    end

    # A small environment, nothing of the driver's own (docs/COMPUTE.md "Images and sizes").
    def node_env(node, port)
      { 'PATH' => ENV.fetch('PATH', '/usr/bin:/bin'), 'HOST' => HOST, 'PORT' => port.to_s,
        'NODE_ID' => node.id, 'NODE_NAME' => node.name, 'NODE_IMAGE' => node.image, 'NODE_SIZE' => node.size,
        'NODE_MEMORY_MB' => SIZES.fetch(node.size).to_s }
    end

    def free_port
      server = TCPServer.new(HOST, 0)
      server.addr[1]
    ensure
      server&.close
    end

    # Two threads per run: one waits for the exit, one health-checks.
    def watch(node, run, pid)
      Thread.new do
        _, status = Process.wait2(pid)
        @lock.synchronize { @on_exit.call(node, status) if node.run == run }
      end
      Thread.new { health_check(node, run, node.port, node.image) }
    end

    # ACTIVE once healthy; killed, and ERROR by its exit, when not healthy in time.
    def health_check(node, run, port, image)
      deadline = AgoraBus.monotonic + @config[:health_timeout_ms] / 1000.0
      loop do
        return unless @lock.synchronize { node.run == run && node.state == BUILDING }
        break if AgoraBus.monotonic >= deadline
        return healthy(node, run) if probe(image, port)

        sleep(PROBE_EVERY_S)
      end
      @lock.synchronize do
        next unless node.run == run && node.state == BUILDING && node.process?

        node.kill_reason = "did not pass its health check within #{@config[:health_timeout_ms]} ms"
        signal_group(node.pid, node.start, 'KILL')
      end
    end

    def healthy(node, run)
      @lock.synchronize do
        next unless node.run == run && node.state == BUILDING

        node.state = ACTIVE
        node.updated_at = AgoraBus.now_ms
        @on_change.call(node)
      end
    end

    # `http`: GET / answers 200; `command`: a TCP connection is accepted.
    def probe(image, port)
      if image == 'http'
        http = Net::HTTP.new(HOST, port)
        http.open_timeout = PROBE_TIMEOUT_S
        http.read_timeout = PROBE_TIMEOUT_S
        http.start { |h| h.get('/').code == '200' }
      else
        Socket.tcp(HOST, port, connect_timeout: PROBE_TIMEOUT_S).close
        true
      end
    rescue StandardError
      false
    end

    # Signal the node's process group, never a process that has ended nor one that merely reuses its pid.
    def signal_group(pid, start, signal)
      Process.kill(signal, -pid) if StateDir.same_process?(pid, start)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end
  end
end
