# frozen_string_literal: true

module AgoraDriver
  # The states of docs/COMPUTE.md "Driver states".
  BUILDING = 'BUILDING'
  ACTIVE = 'ACTIVE'
  STOPPING = 'STOPPING'
  STOPPED = 'STOPPED'
  DELETING = 'DELETING'
  ERROR = 'ERROR'

  # The catalogue every driver serves (docs/COMPUTE.md "Images and sizes").
  IMAGES = %w[http command].freeze
  SIZES = { 'small' => 64, 'medium' => 128, 'large' => 256 }.freeze

  # One node: its record (the DriverNode of proto/driver.proto) and, while it has one, its
  # OS process. Changed only under the driver's lock.
  class Node
    RECORD = %i[id name owner image size command state reason host port pid exit_code signal
                created_at updated_at].freeze

    attr_accessor(*RECORD)
    # The last lines of output, oldest first.
    attr_reader :output
    # Counts the node's starts: a thread watching an earlier process leaves the node alone.
    attr_accessor :run
    # Why the driver itself killed the process (a failed health check), for the ERROR reason.
    attr_accessor :kill_reason

    def initialize(fields, now_ms)
      fields.each { |key, value| public_send(:"#{key}=", value) }
      @state = BUILDING
      @reason = ''
      @exit_code = -1
      @signal = ''
      @created_at = now_ms
      @updated_at = now_ms
      @output = []
      @run = 0
      clear_process
    end

    def process?
      pid != 0
    end

    def clear_process
      @host = ''
      @port = 0
      @pid = 0
    end

    # Keep `line` among the last `max` lines.
    def add_output(line, max)
      @output << line
      @output.shift while @output.size > max
    end

    # The node as it travels on the bus (keys are the proto field names).
    def to_wire(with_output: false)
      wire = RECORD.to_h { |key| [key.to_s, public_send(key)] }
      wire['output'] = @output.dup if with_output
      wire
    end
  end
end
