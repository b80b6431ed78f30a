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
    # The start time of its process (StateDir.process_start), which a reused pid does not share.
    attr_accessor :start
    # Its process was adopted from a driver before this one: it is not our child.
    attr_accessor :adopted
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
      @run = 0
      clear_process
    end

    # A node as a state record holds it (its wire map), with its process as recorded.
    def self.from_wire(wire)
      node = new({}, 0)
      RECORD.each { |key| node.public_send(:"#{key}=", wire.fetch(key.to_s)) }
      node
    end

    def process?
      pid != 0
    end

    def clear_process
      @host = ''
      @port = 0
      @pid = 0
      @start = ''
      @adopted = false
    end

    # The node as it travels on the bus (keys are the proto field names).
    def to_wire
      RECORD.to_h { |key| [key.to_s, public_send(key)] }
    end

    # What the state directory keeps of the node.
    def to_record
      { 'node' => to_wire, 'process' => process? ? { 'pid' => pid, 'start' => start } : nil }
    end
  end
end
